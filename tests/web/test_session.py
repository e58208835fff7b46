"""The session cookie carries only a signed random id; the minimal claims live on the server; SECRET_KEY rotation."""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from pizza42 import create_app
from pizza42.web.server_session import cookie_is_secure
from pizza42.web.session import ID_TOKEN_KEY, SESSION_KEY
from tests.dynamo_helpers import CountingClient
from tests.web.conftest import (
    UNVERIFIED,
    VERIFIED,
    AuthActions,
    closed_port,
    form_fields,
    read_session,
    session_id_of,
    session_item,
    web_settings,
)

ALLOWED_CLAIMS = {"sub", "exp", "name", "email", "picture", "email_verified", "can_place_orders", "verified_at",
                  "login_method", "connection", "login_time", "customer_since", "verification_message"}
OLD_KEY, NEW_KEY = "test-secret-key-0123456789", "the-new-secret-key-9876543210"


def _set_cookie(response, name: str = "session") -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "="))


def test_the_cookie_holds_only_a_signed_random_id(app, client, auth):
    """`<43 url-safe characters: 256 random bits>.<signature>`; nothing about the customer."""
    auth.login(VERIFIED)
    value = client.get_cookie("session").value
    session_id, _, signature = value.partition(".")
    assert len(session_id) == 43 and len(base64.urlsafe_b64decode(session_id + "=")) * 8 == 256
    assert signature and session_id_of(app, client) == session_id
    for secret in ("auth0", "demo", "verified", "Vera", "@", "eyJ"):
        assert secret not in value


def test_every_login_gets_a_different_id(app, client, auth):
    """Ids come from a random source, not from the customer or the time."""
    ids = set()
    for _ in range(3):
        auth.login(VERIFIED)
        ids.add(session_id_of(app, client))
    assert len(ids) == 3


def test_session_holds_only_the_minimal_claims(app, client, auth):
    """Subject, name, email, verification claims and expiry; of tokens, only the ID token (for logout's hint)."""
    auth.login(VERIFIED)
    session, payload = read_session(app, client)
    assert set(session) <= {SESSION_KEY, "_flashes", "csrf_token", ID_TOKEN_KEY}
    customer = session[SESSION_KEY]
    assert set(customer) <= ALLOWED_CLAIMS
    assert customer["sub"] == VERIFIED and customer["email"] == "verified@pizza42.test"
    assert customer["can_place_orders"] is True and customer["email_verified"] is True
    assert customer["connection"] == "Username-Password-Authentication"
    assert customer["exp"] > time.time()
    id_token = session[ID_TOKEN_KEY]
    assert id_token.count(".") == 2 and payload.count(id_token) == 1
    assert "eyJ" not in payload.replace(id_token, "")  # no other JWT (access or refresh token) is stored


def test_a_stored_session_stays_small(app, client, auth):
    """With the CSRF secret and a flash message the data is about a kilobyte; with the ID token (kept for
    logout's hint) the item stays within one 4 KB read unit, the cost of every page view's consistent read."""
    auth.login(VERIFIED)
    client.get("/")
    auth.place_order()
    session, payload = read_session(app, client)
    assert len(payload) - len(session[ID_TOKEN_KEY]) < 1200
    assert len(payload) < 4096 - 200  # the item's other attributes (hash, customer, times) fit in the rest


def test_unverified_customer_session_says_they_cannot_order(app, client, auth):
    """The unverified customer's session carries the Action's verdict and its message."""
    auth.login(UNVERIFIED)
    customer = read_session(app, client)[0][SESSION_KEY]
    assert customer.get("can_place_orders", False) is False
    assert "verify your email" in customer["verification_message"]


def test_cookie_is_httponly_samesite_lax_session_only_and_not_secure_on_local_http(client, auth):
    """In tests without a base URL (plain http) the cookie cannot be Secure (nor `__Host-`), but is HttpOnly and Lax."""
    header = _set_cookie(auth.login(VERIFIED))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert "Secure" not in header and "Expires" not in header and "Domain" not in header


def test_cookie_is_secure_and_host_prefixed_behind_https(provider, dynamodb):
    """With an https APP_BASE_URL the cookie is `__Host-session`: Secure, Path=/, no Domain."""
    app = create_app(web_settings(provider, APP_BASE_URL="https://pizza.example.com"), dynamodb_client=dynamodb)
    app.config["TESTING"] = True
    header = _set_cookie(app.test_client().get("/login"), "__Host-session")
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert "Domain" not in header


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


def test_an_expired_id_token_ends_the_session(app, client, auth, dynamodb):
    """When the ID token's expiry passes, the session is deleted on the server and the customer is a visitor."""
    auth.login(VERIFIED)
    with client.session_transaction() as session:
        session[SESSION_KEY] = {**session[SESSION_KEY], "exp": int(time.time()) - 1}
    session_id = session_id_of(app, client)
    response = client.get("/orders")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=/orders")
    assert session_item(dynamodb, session_id) is None
    page = client.get("/").get_data(as_text=True)
    assert 'id="order-form"' not in page


def test_a_forged_cookie_is_a_visitor_and_costs_no_read(provider, dynamodb, client, auth):
    """A bad signature is refused before DynamoDB is asked."""
    auth.login(VERIFIED)
    session_id, _, signature = client.get_cookie("session").value.partition(".")
    counted = CountingClient(dynamodb)
    app = create_app(web_settings(provider), dynamodb_client=counted)
    browser = app.test_client()
    browser.set_cookie("session", session_id + "." + ("A" if signature[0] != "A" else "B") + signature[1:])
    assert browser.get("/account").status_code == 302
    assert counted.total == 0


def _app_with_keys(provider, dynamodb, **keys: str):
    app = create_app(web_settings(provider, **keys), dynamodb_client=dynamodb)
    app.config["TESTING"] = True
    return app.test_client()


def test_rotating_secret_key_keeps_customers_logged_in_through_the_fallback(provider, dynamodb, client, auth):
    """SECRET_KEY rotation: a cookie signed with the old key still works while it is a fallback, not after."""
    auth.login(VERIFIED)
    cookie = client.get_cookie("session").value
    rotated = _app_with_keys(provider, dynamodb, SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=OLD_KEY)
    rotated.set_cookie("session", cookie)
    assert rotated.get("/account").status_code == 200
    retired = _app_with_keys(provider, dynamodb, SECRET_KEY=NEW_KEY)
    retired.set_cookie("session", cookie)
    assert retired.get("/account").status_code == 302


def test_an_order_form_shown_before_a_key_rotation_can_still_be_sent(provider, dynamodb, client, auth):
    """Its CSRF token was signed with the old key: accepted while that key is a fallback, refused after."""
    auth.login(VERIFIED)
    order = {**form_fields(client.get("/").get_data(as_text=True)), "pizza": "Supreme", "size": "small",
             "quantity": "1"}
    cookie = client.get_cookie("session").value
    retired = _app_with_keys(provider, dynamodb, SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS="x" * 32)
    retired.set_cookie("session", cookie)
    assert retired.post("/", data=order).status_code == 302  # neither cookie nor token verify: log in again
    rotated = _app_with_keys(provider, dynamodb, SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=OLD_KEY)
    rotated.set_cookie("session", cookie)
    assert rotated.post("/", data=order).status_code == 303
    assert "Order placed: 1 × Supreme (small)" in rotated.get("/orders").get_data(as_text=True)


def test_logout_deletes_the_session_and_ends_the_provider_session(app, client, auth, provider, dynamodb):
    """POST /logout → the item is gone, the cookie is dropped, then the provider's end-session endpoint."""
    auth.login(VERIFIED)
    session_id = session_id_of(app, client)
    token = form_fields(client.get("/").get_data(as_text=True))["csrf_token"]
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == provider + "/oauth2/end_session"
    params = parse_qs(location.query)
    assert set(params) == {"post_logout_redirect_uri", "client_id", "id_token_hint"}  # the hint: test_logout_hint.py
    assert (params["post_logout_redirect_uri"], params["client_id"]) == (["http://localhost/"], ["pizza42-web"])
    assert session_item(dynamodb, session_id) is None
    assert client.get_cookie("session") is None
    assert client.get("/account").status_code == 302


def test_logout_without_csrf_token_is_refused(app, client, auth, dynamodb):
    """A cross-site POST cannot log the customer out."""
    auth.login(VERIFIED)
    response = client.post("/logout")
    assert response.status_code == 400
    assert client.get("/account").status_code == 200
    assert session_item(dynamodb, session_id_of(app, client)) is not None


def test_logout_page_asks_first_and_visitors_go_home(client, auth):
    """GET /logout shows a confirmation button; a visitor is sent home."""
    assert client.get("/logout").headers["Location"] == "/"
    auth.login(VERIFIED)
    page = client.get("/logout").get_data(as_text=True)
    assert 'action="/logout"' in page and 'name="csrf_token"' in page


def test_logout_when_the_provider_is_down_goes_home(dynamodb):
    """No discovery document: logged out here (the item deleted), and home."""
    app = create_app(web_settings(f"http://127.0.0.1:{closed_port()}"), dynamodb_client=dynamodb)
    app.config["TESTING"] = True
    client = app.test_client()
    with client.session_transaction() as session:
        session[SESSION_KEY] = {"sub": VERIFIED, "exp": int(time.time()) + 600, "can_place_orders": True}
    session_id = session_id_of(app, client)
    token = form_fields(client.get("/logout").get_data(as_text=True))["csrf_token"]
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "http://localhost/"
    assert client.get_cookie("session") is None
    assert session_item(dynamodb, session_id) is None


def test_login_pages_are_not_cached(client, auth):
    """Redirects that set the session cookie are no-store."""
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    assert AuthActions(client).login(VERIFIED).headers["Cache-Control"] == "no-store"
