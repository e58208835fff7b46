"""Logout hands the provider the login's ID token as `id_token_hint`; it lives on the server, never in the cookie.

Through the real flow: the local provider (oidc-provider-mock) behind a proxy that records each ID token its
token endpoint issues, so the test knows the token the app was given without asking the app.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import oidc_provider_mock
import pytest

from pizza42 import create_app
from pizza42.sandbox import DEMO_USERS, WEB_CLIENT_ID
from tests.web.conftest import VERIFIED, AuthActions, form_fields, serve_wsgi, session_id_of, session_item, web_settings


@contextmanager
def recording_provider(issued: list[str]) -> Iterator[str]:
    """The local provider, appending to `issued` every ID token its token endpoint hands out."""
    provider = oidc_provider_mock.app(
        user_claims=[oidc_provider_mock.User(sub=sub, claims=dict(c)) for sub, c in DEMO_USERS.items()])

    def proxy(environ, start_response):
        body = b"".join(provider(environ, lambda status, headers, exc_info=None: seen.update(s=status, h=headers)))
        if environ["PATH_INFO"] == "/oauth2/token":
            issued.append(json.loads(body)["id_token"])
        start_response(seen["s"], seen["h"])
        return [body]

    seen: dict = {}
    with serve_wsgi(proxy) as issuer:
        yield issuer


@pytest.fixture
def issued() -> list[str]:
    """The ID tokens the provider issued during the test, in order."""
    return []


@pytest.fixture
def provider_app(issued, dynamodb):
    """The app on moto, trusting the recording provider."""
    with recording_provider(issued) as issuer:
        app = create_app(web_settings(issuer), dynamodb_client=dynamodb)
        app.config["TESTING"] = True
        yield app


def _claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _cookies_sent(responses) -> str:
    return "\n".join(header for response in responses for header in response.headers.getlist("Set-Cookie"))


def _log_out(client, path: str = "/logout"):
    token = form_fields(client.get("/").get_data(as_text=True))["csrf_token"]
    return client.post(path, data={"csrf_token": token})


def test_logout_sends_the_id_token_issued_at_login_as_id_token_hint(provider_app, issued):
    client = provider_app.test_client()
    callback = AuthActions(client).login(VERIFIED)
    assert callback.status_code == 302 and len(issued) == 1
    response = _log_out(client)
    assert response.status_code == 303
    params = parse_qs(urlsplit(response.headers["Location"]).query)
    assert params["id_token_hint"] == issued
    claims = _claims(params["id_token_hint"][0])
    assert claims["sub"] == VERIFIED and WEB_CLIENT_ID in claims["aud"]  # this customer, the pages' own login


def test_the_id_token_never_reaches_the_cookie(provider_app, issued, dynamodb):
    client = provider_app.test_client()
    responses = [AuthActions(client).login(VERIFIED)]
    responses += [client.get("/"), client.get("/account")]
    [id_token] = issued
    cookie = client.get_cookie("session").value
    header, payload, signature = id_token.split(".")
    for part in (id_token, header, payload, signature[:32], "eyJ"):
        assert part not in cookie and part not in _cookies_sent(responses)
    # It is on the server, in the session item the cookie's id names (and so the hint can be sent at logout).
    assert id_token in session_item(dynamodb, session_id_of(provider_app, client))["payload"]["S"]
    response = _log_out(client)
    assert id_token not in _cookies_sent([response])
    assert parse_qs(urlsplit(response.headers["Location"]).query)["id_token_hint"] == [id_token]


def test_each_browser_hints_its_own_login_and_log_out_everywhere_sends_it_too(provider_app, issued):
    first, second = provider_app.test_client(), provider_app.test_client()
    AuthActions(first).login(VERIFIED)
    AuthActions(second).login(VERIFIED)
    assert len(issued) == 2 and issued[0] != issued[1]
    response = _log_out(second, "/logout/everywhere")
    assert response.status_code == 303
    assert parse_qs(urlsplit(response.headers["Location"]).query)["id_token_hint"] == [issued[1]]
    # The first browser's session is gone too: it has no token left to hint, and is a visitor again.
    assert first.get("/account").status_code == 302


def test_a_visitor_logging_out_sends_no_hint(provider_app, issued):
    client = provider_app.test_client()
    AuthActions(client).login(VERIFIED)
    _log_out(client)
    # The same browser, now logged out, posts the logout form again (a stale tab): nothing to hint.
    token = form_fields(client.get("/").get_data(as_text=True)).get("csrf_token")
    response = client.post("/logout", data={"csrf_token": token} if token else {})
    assert "id_token_hint" not in response.headers.get("Location", "")
