"""The session cookie: only minimal claims, small, HttpOnly/SameSite/Secure, expiring with the ID token; logout."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from pizza42 import create_app
from pizza42.web.login import cookie_is_secure
from pizza42.web.session import SESSION_KEY
from tests.web.conftest import UNVERIFIED, VERIFIED, AuthActions, closed_port, form_fields, read_session, web_settings

ALLOWED_CLAIMS = {"sub", "exp", "name", "email", "picture", "email_verified", "can_place_orders", "verified_at",
                  "login_method", "connection", "login_time", "customer_since", "verification_message"}


def _set_cookie(response) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))


def test_session_holds_only_the_minimal_claims(app, client, auth):
    """Subject, name, email, verification claims and expiry — never a token."""
    auth.login(VERIFIED)
    session = read_session(app, client)[0]
    assert set(session) <= {SESSION_KEY, "_flashes", "csrf_token"}
    customer = session[SESSION_KEY]
    assert set(customer) <= ALLOWED_CLAIMS
    assert customer["sub"] == VERIFIED and customer["email"] == "verified@pizza42.test"
    assert customer["can_place_orders"] is True and customer["email_verified"] is True
    assert customer["connection"] == "Username-Password-Authentication"
    assert customer["exp"] > time.time()
    assert "eyJ" not in repr(session)  # no JWT (ID, access or refresh token) in the cookie


def test_session_cookie_stays_well_under_4kb(app, client, auth):
    """Even with the CSRF token and a flash message the cookie is small."""
    auth.login(VERIFIED)
    client.get("/")
    auth.place_order()
    assert len(read_session(app, client)[1]) < 1200


def test_unverified_customer_session_says_they_cannot_order(app, client, auth):
    """The unverified customer's session carries the Action's verdict and its message."""
    auth.login(UNVERIFIED)
    customer = read_session(app, client)[0][SESSION_KEY]
    assert customer.get("can_place_orders", False) is False
    assert "verify your email" in customer["verification_message"]


def test_login_replaces_the_whole_session(app, client, auth):
    """Nothing set before login survives it (no session fixation)."""
    with client.session_transaction() as session:
        session["planted"] = "by-an-attacker"
    auth.login(VERIFIED)
    assert "planted" not in read_session(app, client)[0]


def test_cookie_is_httponly_samesite_lax_and_not_secure_on_local_http(client, auth):
    """In tests without a base URL (plain http) the cookie cannot be Secure, but is HttpOnly and Lax."""
    header = _set_cookie(auth.login(VERIFIED))
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert "Secure" not in header


def test_cookie_is_secure_behind_https(provider, dynamodb):
    """With an https APP_BASE_URL the cookie is Secure."""
    app = create_app(web_settings(provider, APP_BASE_URL="https://pizza.example.com"), dynamodb_client=dynamodb)
    app.config["TESTING"] = True
    client = app.test_client()
    header = _set_cookie(client.get("/login"))
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header


@pytest.mark.parametrize("base_url, testing, secure", [
    ("https://pizza.example.com", False, True),
    ("https://pizza.example.com", True, True),
    ("http://127.0.0.1:8000", False, False),
    ("http://localhost:8000", False, False),
    ("http://pizza.example.com", False, True),  # plain http elsewhere: no silent downgrade
    (None, True, False),
    (None, False, True),
])
def test_cookie_secure_flag(provider, base_url, testing, secure):
    """Secure everywhere except plain-http loopback and tests without a base URL."""
    env = {"APP_BASE_URL": base_url} if base_url else {}
    assert cookie_is_secure(web_settings(provider, **env), testing) is secure


def test_expired_session_is_treated_as_logged_out(client, auth):
    """When the ID token's expiry passes, the customer is a visitor again."""
    auth.login(VERIFIED)
    with client.session_transaction() as session:
        session[SESSION_KEY] = {**session[SESSION_KEY], "exp": int(time.time()) - 1}
    response = client.get("/orders")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=/orders")
    page = client.get("/").get_data(as_text=True)
    assert "Your session has expired" in page and 'id="order-form"' not in page


def test_a_cookie_signed_with_another_key_is_ignored(app, client, auth):
    """A forged cookie is a visitor's."""
    auth.login(VERIFIED)
    cookie = client.get_cookie("session").value
    body, _, signature = cookie.rpartition(".")
    client.set_cookie("session", body + "." + ("A" if signature[0] != "A" else "B") + signature[1:])
    assert client.get("/account").status_code == 302


def test_rotating_secret_key_keeps_customers_logged_in_through_the_fallback(provider, dynamodb, client, auth):
    """SECRET_KEY rotation: a cookie signed with the old key still works while it is a fallback."""
    auth.login(VERIFIED)
    cookie = client.get_cookie("session").value
    rotated = create_app(web_settings(provider, SECRET_KEY="the-new-secret-key-9876543210",
                                      SECRET_KEY_FALLBACKS="test-secret-key-0123456789"), dynamodb_client=dynamodb)
    browser = rotated.test_client()
    browser.set_cookie("session", cookie)
    assert browser.get("/account").status_code == 200
    retired = create_app(web_settings(provider, SECRET_KEY="the-new-secret-key-9876543210"), dynamodb_client=dynamodb)
    browser = retired.test_client()
    browser.set_cookie("session", cookie)
    assert browser.get("/account").status_code == 302


def test_logout_clears_the_session_and_ends_the_provider_session(app, client, auth, provider):
    """POST /logout → the provider's end-session endpoint, back to our home page; the cookie is emptied."""
    auth.login(VERIFIED)
    token = form_fields(client.get("/").get_data(as_text=True))["csrf_token"]
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == provider + "/oauth2/end_session"
    params = parse_qs(location.query)
    assert params == {"post_logout_redirect_uri": ["http://localhost/"], "client_id": ["pizza42-web"]}
    assert client.get_cookie("session") is None
    assert client.get("/account").status_code == 302


def test_logout_without_csrf_token_is_refused(app, client, auth):
    """A cross-site POST cannot log the customer out."""
    auth.login(VERIFIED)
    response = client.post("/logout")
    assert response.status_code == 400
    assert client.get("/account").status_code == 200


def test_logout_page_asks_first_and_visitors_go_home(client, auth):
    """GET /logout shows a confirmation button; a visitor is sent home."""
    assert client.get("/logout").headers["Location"] == "/"
    auth.login(VERIFIED)
    page = client.get("/logout").get_data(as_text=True)
    assert 'action="/logout"' in page and 'name="csrf_token"' in page


def test_logout_when_the_provider_is_down_goes_home(dynamodb):
    """No discovery document: logged out here, and home."""
    app = create_app(web_settings(f"http://127.0.0.1:{closed_port()}"), dynamodb_client=dynamodb)
    app.config["TESTING"] = True
    client = app.test_client()
    with client.session_transaction() as session:
        session[SESSION_KEY] = {"sub": VERIFIED, "exp": int(time.time()) + 600, "can_place_orders": True}
    token = form_fields(client.get("/logout").get_data(as_text=True))["csrf_token"]
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "http://localhost/"
    assert client.get_cookie("session") is None  # the emptied session deletes the cookie


def test_login_pages_are_not_cached(client, auth):
    """Redirects that set the session cookie are no-store."""
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    assert AuthActions(client).login(VERIFIED).headers["Cache-Control"] == "no-store"
