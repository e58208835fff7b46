"""The JSON API authenticates with bearer tokens only: it never reads, writes or even opens a session."""

from __future__ import annotations

import pytest
from flask import session

from pizza42.sessions.store import SessionStore
from tests.api.conftest import USER
from tests.conftest import SESSIONS_TABLE

ORDER = {"pizza": "Margherita", "size": "medium"}


@pytest.fixture
def browser_session(app, client, dynamodb) -> str:
    """A real, live page session for this customer, whose cookie the browser sends to /api too."""
    # Stored through a store on the uncounted client: the counts then show only what the app does.
    SessionStore(dynamodb, SESSIONS_TABLE, idle_seconds=1800, lifetime_seconds=3600).create(
        "s" * 43, '{"customer": {"sub": "auth0|alice"}}', USER)
    client.set_cookie("session", app.session_interface.cookie_value(app, "s" * 43))
    return "s" * 43


@pytest.mark.parametrize("method, path, status", [
    ("get", "/api/health", 200), ("get", "/api/menu", 200), ("get", "/api/orders", 200),
    ("post", "/api/orders", 201), ("get", "/api/orders/order_1700000000000_0000000000", 404),
    ("get", "/api/verify-token", 200), ("get", "/api/nope", 404), ("get", "/api", 404),
])
def test_api_calls_never_touch_the_sessions_table_or_the_cookie(client, auth, counted_dynamodb, browser_session,
                                                                method, path, status):
    response = getattr(client, method)(path, json=ORDER, headers=auth())
    assert response.status_code == status
    assert counted_dynamodb.tables[SESSIONS_TABLE] == 0
    assert "Set-Cookie" not in response.headers and "Cookie" not in response.headers.get("Vary", "")


def test_a_refused_token_does_not_fall_back_to_the_session(client, counted_dynamodb, browser_session):
    """No bearer token, but a logged-in page session: still 401, and the session is not looked at."""
    response = client.get("/api/orders")
    assert response.status_code == 401
    assert counted_dynamodb.tables[SESSIONS_TABLE] == 0


def test_an_api_request_gets_no_session_object_at_all(app):
    """Flask's read-only null session: writing to it from API code would fail loudly, not store anything."""
    with app.test_request_context("/api/orders"):
        app.preprocess_request()
        assert app.session_interface.is_null_session(session._get_current_object())
        with pytest.raises(RuntimeError):
            session["anything"] = 1
