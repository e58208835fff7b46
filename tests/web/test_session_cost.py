"""What sessions cost (one read per page view, writes only when needed, nothing for visitors and static files)
and what a DynamoDB failure does to them (a 503 page; never a 500, never a customer silently logged out)."""

from __future__ import annotations

import pytest

from tests.clock import ManualClock
from tests.dynamo_helpers import CountingClient, FaultyClient
from tests.web.conftest import SESSIONS_TABLE, VERIFIED, form_fields, session_items

SESSION_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


@pytest.fixture
def app_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def app_dynamodb(dynamodb) -> FaultyClient:
    """The app's client counts its calls, and can be made to fail."""
    return FaultyClient(CountingClient(dynamodb))


@pytest.fixture
def counted(app_dynamodb) -> CountingClient:
    return app_dynamodb._client


def session_calls(counted: CountingClient, since: int) -> list[str]:
    return [op for op, params in counted.requests[since:] if params.get("TableName") == SESSIONS_TABLE]


def test_a_page_view_reads_its_session_once_and_writes_nothing(client, auth, counted):
    auth.login(VERIFIED)
    client.get("/")  # the first page after login shows (and so removes) the welcome message: one write
    for path in ("/", "/orders", "/account", "/no-such-page"):
        before = len(counted.requests)
        client.get(path)
        assert session_calls(counted, before) == ["get_item"], path


def test_the_idle_window_moves_with_one_write_at_most_once_a_minute(client, auth, counted, app_clock):
    auth.login(VERIFIED)
    client.get("/")
    before = len(counted.requests)
    for _ in range(7):
        app_clock.advance(11)
        client.get("/orders")
    assert session_calls(counted, before).count("update_item") == 1  # at 66 s; not at 11, 22, … 55, nor at 77


def test_a_visitor_without_a_cookie_costs_nothing(client, counted):
    for path in ("/", "/account", "/orders", "/no-such-page", "/logout"):
        client.get(path)
    assert counted.total == 0


def test_a_visitor_who_never_logs_in_gets_no_session(client, dynamodb):
    client.get("/")
    assert client.get_cookie("session") is None and session_items(dynamodb) == []


def test_static_files_never_open_a_session(client, auth, counted):
    auth.login(VERIFIED)
    before = counted.total
    response = client.get("/static/style.css")
    assert response.status_code == 200 and counted.total == before
    assert "Set-Cookie" not in response.headers and "Cookie" not in response.headers.get("Vary", "")
    missing = client.get("/static/no-such-file.css")
    assert missing.status_code == 404 and "Page not found" in missing.get_data(as_text=True)
    assert counted.total == before


# -- DynamoDB failing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/orders", "/account"])
def test_dynamodb_down_is_a_503_page_not_a_logout(client, auth, app_dynamodb, path):
    auth.login(VERIFIED)
    app_dynamodb.down = True
    response = client.get(path)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert "try again" in response.get_data(as_text=True)
    assert client.get_cookie("session") is not None  # the cookie is left alone
    app_dynamodb.down = False
    assert client.get("/account").status_code == 200  # and the customer is still logged in


def test_an_order_posted_while_dynamodb_is_down_is_a_503_not_a_login_redirect(client, auth, app_dynamodb, store):
    auth.login(VERIFIED)
    order = {**form_fields(client.get("/").get_data(as_text=True)), "pizza": "Hawaiian", "size": "large",
             "quantity": "1"}
    app_dynamodb.down = True
    response = client.post("/", data=order)
    assert response.status_code == 503 and "Location" not in response.headers
    app_dynamodb.down = False
    assert client.post("/", data=order).status_code == 303  # the same form, sent again, orders
    assert [o.pizza for o in store.all_orders(VERIFIED)] == ["Hawaiian"]


def test_login_while_dynamodb_is_down_is_a_503_page(client, app_dynamodb):
    app_dynamodb.down = True
    response = client.get("/login")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert client.get_cookie("session") is None


def test_a_login_that_cannot_be_stored_is_a_503_not_a_welcome(client, auth, app_dynamodb, dynamodb):
    """DynamoDB stops taking writes between /login and /callback: no "Welcome", no cookie, try again."""
    callback = auth.authorize(auth.start())
    pre_login = client.get_cookie("session").value
    app_dynamodb.writes_down = True
    response = client.get(callback)
    assert response.status_code == 503 and "Location" not in response.headers
    page = response.get_data(as_text=True)
    assert "Welcome" not in page and "Vera" not in page and "Log out" not in page
    assert client.get_cookie("session").value == pre_login
    assert [item.get("customer_id") for item in session_items(dynamodb)] == [None]


def test_logout_while_dynamodb_is_down_does_not_pretend(client, auth, app_dynamodb, dynamodb):
    """The session cannot be deleted: the customer is told to try again, not sent to the provider as logged out."""
    auth.login(VERIFIED)
    token = form_fields(client.get("/").get_data(as_text=True))["csrf_token"]
    app_dynamodb.writes_down = True
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 503 and "Location" not in response.headers
    assert len(session_items(dynamodb)) == 1
    app_dynamodb.writes_down = False
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert session_items(dynamodb) == []


def test_a_failed_touch_still_serves_the_page(client, auth, app_dynamodb, app_clock):
    """Moving the idle window is not worth an error page: the next request moves it."""
    auth.login(VERIFIED)
    client.get("/")
    app_clock.advance(120)
    app_dynamodb.writes_down = True
    assert client.get("/account").status_code == 200


def test_the_api_and_pages_share_one_client(app, app_dynamodb):
    """One boto3 client per process: the session store gets the order store's."""
    orders, sessions = app.extensions["pizza42.store"], app.extensions["pizza42.sessions"]
    assert orders._client is sessions._client is app_dynamodb
