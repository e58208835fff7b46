"""Login through the real local provider: the redirect, safe return paths, and every way a callback fails."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import oidc_provider_mock
import pytest

from pizza42 import create_app
from pizza42.sandbox import DEMO_USERS, identity_provider
from pizza42.web.login import safe_next
from tests.web.conftest import UNVERIFIED, VERIFIED, AuthActions, closed_port, read_session, serve_wsgi, web_settings


def _query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def _logged_in(app, client) -> bool:
    cookie = client.get_cookie("session")
    return cookie is not None and "customer" in read_session(app, client)[0]


def test_login_redirects_to_the_provider_with_code_flow_state_nonce_and_pkce(auth, provider):
    """/login starts an authorization-code request at the provider's authorization endpoint."""
    url = auth.start()
    params = _query(url)
    assert url.startswith(provider + "/oauth2/authorize?")
    assert params["client_id"] == "pizza42-web"
    assert params["response_type"] == "code"
    assert params["scope"] == "openid profile email"
    assert params["redirect_uri"] == "http://localhost/callback"
    assert params["state"] and params["nonce"]
    assert params["code_challenge_method"] == "S256"
    assert "connection" not in params


def test_login_with_google_passes_the_connection(auth):
    """?connection=google-oauth2 reaches the provider as `connection` (Auth0 skips its login page)."""
    assert _query(auth.start("?connection=google-oauth2"))["connection"] == "google-oauth2"


def test_login_drops_a_malformed_connection(auth):
    """Only a plain connection name is passed on; no extra parameters can be smuggled in."""
    params = _query(auth.start("?" + urlencode({"connection": "x&prompt=none"})))
    assert "connection" not in params and "prompt" not in params


def test_redirect_uri_comes_from_app_base_url_when_set(provider, dynamodb):
    """Behind a proxy the callback URL is the public one, not the one the request arrived at."""
    app = create_app(web_settings(provider, APP_BASE_URL="https://pizza.example.com"), dynamodb_client=dynamodb)
    url = AuthActions(app.test_client()).start()
    assert _query(url)["redirect_uri"] == "https://pizza.example.com/callback"


def test_verified_customer_logs_in_and_lands_on_the_home_page(client, auth):
    """A real login: the callback verifies the ID token and starts the session."""
    response = auth.login(VERIFIED)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Welcome, Vera Verified!" in page and 'id="order-form"' in page


@pytest.mark.parametrize("next_path", ["/orders", "/account", "/orders?cursor=abc"])
def test_login_returns_to_a_same_site_path(auth, next_path):
    """?next= brings the customer back where they were going."""
    response = auth.login(query="?" + urlencode({"next": next_path}))
    assert response.headers["Location"] == next_path


@pytest.mark.parametrize("target", [
    "//evil.com", "/\\evil.com", "/\t/evil.com", "/%09/evil.com", "https://evil.com", "javascript:alert(1)",
    "///evil.com", "/%2F/evil.com", "/%5Cevil.com", " /evil.com", "/\nevil", "http:/evil.com", "evil.com",
    "/\u3000/evil.com",
])
def test_login_never_returns_off_site(auth, target):
    """Open-redirect attempts land on the home page."""
    response = auth.login(query="?" + urlencode({"next": target}))
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_open_redirect_with_a_raw_tab_in_the_url_lands_home(client, auth):
    """The literal `/%09/evil.com` in the address bar (a tab once decoded) is refused too."""
    response = client.get(auth.authorize(auth.start("?next=/%09/evil.com")))
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("value, expected", [
    (None, "/"), ("", "/"), ("/", "/"), ("/orders", "/orders"), ("/a/b?c=d#e", "/a/b?c=d#e"),
    ("/" + "a" * 600, "/"), ("/%2e%2e/x", "/%2e%2e/x"),
])
def test_safe_next(value, expected):
    """safe_next keeps harmless paths and replaces everything else with '/'."""
    assert safe_next(value) == expected


def test_callback_without_state_is_refused(app, client):
    """No state → a 400 page with a way to retry, and nobody logged in."""
    response = client.get("/callback?code=abc")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This login link has expired" in page and 'href="/login"' in page
    assert not _logged_in(app, client)


def test_callback_with_someone_elses_state_is_refused(app, client, auth):
    """A state this browser did not start (login CSRF) is refused."""
    auth.start()
    other = AuthActions(app.test_client())
    callback = auth.authorize(other.start())  # a real code, but for another browser's login
    assert client.get(callback).status_code == 400
    assert not _logged_in(app, client)


def test_callback_cannot_be_replayed(client, auth):
    """The state is single use: the same callback URL a second time is refused."""
    callback = auth.authorize(auth.start())
    assert client.get(callback).status_code == 302
    assert client.get(callback).status_code == 400


def test_a_forged_code_is_refused(app, client, auth):
    """A code the provider did not issue (or one already used) fails the exchange: 400, not logged in."""
    callback = auth.authorize(auth.start())
    response = client.get(re.sub(r"code=[^&]+", "code=forged", callback))
    assert response.status_code == 400
    assert "could not be completed" in response.get_data(as_text=True)
    assert not _logged_in(app, client)


def test_abandoned_logins_do_not_grow_the_cookie(app, client, auth):
    """Only the latest login attempt is kept, so the cookie stays small and that attempt still works."""
    for _ in range(10):
        url = auth.start()
    assert len(read_session(app, client)[1]) < 1200
    assert client.get(auth.authorize(url)).status_code == 302
    assert _logged_in(app, client)


def test_access_denied_at_the_provider_shows_a_friendly_page(app, client, auth):
    """The person clicks "Deny" on the provider's page: 400, a retry link, not logged in."""
    callback = auth.authorize(auth.start(), action="deny")
    assert "error=access_denied" in callback
    response = client.get(callback)
    assert response.status_code == 400
    assert "Login cancelled" in response.get_data(as_text=True)
    assert not _logged_in(app, client)


def test_provider_error_description_is_not_reflected(client):
    """The provider's error text comes from the URL: it is not shown (no injected messages)."""
    response = client.get("/callback?" + urlencode({"error": "server_error",
                                                    "error_description": "Call +1-555-SCAM now"}))
    assert response.status_code == 502
    assert "SCAM" not in response.get_data(as_text=True)


def test_login_when_the_provider_is_down_is_a_503_page(dynamodb):
    """Discovery unreachable → 503 with Retry-After, never a 500."""
    app = create_app(web_settings(f"http://127.0.0.1:{closed_port()}"), dynamodb_client=dynamodb)
    response = app.test_client().get("/login")
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "Try logging in again" in response.get_data(as_text=True)


def test_callback_when_the_provider_went_down_is_a_503_page(dynamodb):
    """The provider dies between the login redirect and the code exchange."""
    with identity_provider(port=0) as issuer:
        app = create_app(web_settings(issuer), dynamodb_client=dynamodb)
        client = app.test_client()
        auth = AuthActions(client)
        callback = auth.authorize(auth.start())
    response = client.get(callback)
    assert response.status_code == 503
    assert not _logged_in(app, client)


def test_an_id_token_with_another_nonce_is_rejected(app, client, auth):
    """An authorization response made for a different nonce (a replayed or injected token) is refused."""
    url = urlsplit(auth.start())
    params = _query(url.geturl()) | {"nonce": "someone-elses-nonce"}
    response = client.get(auth.authorize(urlunsplit(url._replace(query=urlencode(params)))))
    assert response.status_code == 502
    assert "We couldn" in response.get_data(as_text=True)
    assert not _logged_in(app, client)


def _forge_subject(id_token: str) -> str:
    """Change the token's `sub` but keep the provider's signature: what an attacker in the middle would do."""
    header, payload, signature = id_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "auth0|attacker"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


@contextmanager
def tampering_provider() -> Iterator[str]:
    """The local provider behind a proxy that alters the ID token in every token response."""
    provider = oidc_provider_mock.app(
        user_claims=[oidc_provider_mock.User(sub=sub, claims=dict(c)) for sub, c in DEMO_USERS.items()])

    def proxy(environ, start_response):
        if environ["PATH_INFO"] != "/oauth2/token":
            return provider(environ, start_response)
        seen = {}
        body = b"".join(provider(environ, lambda status, headers, exc_info=None: seen.update(status=status)))
        token = json.loads(body)
        token["id_token"] = _forge_subject(token["id_token"])
        body = json.dumps(token).encode()
        start_response(seen["status"], [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    with serve_wsgi(proxy) as issuer:
        yield issuer


def test_an_id_token_with_a_bad_signature_is_rejected(dynamodb):
    """Claims changed after signing fail Authlib's signature check: 502, nobody logged in."""
    with tampering_provider() as issuer:
        app = create_app(web_settings(issuer), dynamodb_client=dynamodb)
        client = app.test_client()
        response = AuthActions(client).login(UNVERIFIED)
    assert response.status_code == 502
    assert not _logged_in(app, client)
