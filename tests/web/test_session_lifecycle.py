"""A session's life on the server: a new id at login, deleted at logout (a copied cookie is worthless after),
idle and absolute timeouts whatever the browser sends, "log out everywhere", and what is left in the table."""

from __future__ import annotations

import pytest

from pizza42 import create_app
from pizza42.orders import service
from pizza42.orders.service import Customer
from tests.clock import ManualClock
from tests.web.conftest import (
    UNVERIFIED,
    VERIFIED,
    AuthActions,
    form_fields,
    session_id_of,
    session_item,
    session_items,
    web_settings,
)

IDLE = 30 * 60


@pytest.fixture
def app_clock() -> ManualClock:
    return ManualClock()


def logout(client) -> None:
    token = form_fields(client.get("/").get_data(as_text=True))["csrf_token"]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303


def goes_to_login(response, path: str) -> bool:
    return response.status_code == 302 and response.headers["Location"] == f"/login?next={path}"


# -- logout, and the replay of a copied cookie ---------------------------------------------------------


def test_a_cookie_copied_before_logout_gets_the_login_redirect_everywhere_after(app, client, auth, store):
    """The shared-computer attack: copy the cookie, let the customer log out, replay it from another browser."""
    order, _ = service.place_order(store, Customer(VERIFIED, "verified@pizza42.test"),
                                   {"pizza": "Supreme", "size": "large", "quantity": 1})
    auth.login(VERIFIED)
    order_form = {**form_fields(client.get("/").get_data(as_text=True)), "pizza": "Margherita", "size": "small",
                  "quantity": "1"}
    attacker = app.test_client()
    attacker.set_cookie("session", client.get_cookie("session").value)
    pages = ["/orders", f"/orders/{order.order_id}", "/account"]
    for path in pages:  # the copy works while the customer is logged in: this is what logout must undo
        assert attacker.get(path).status_code == 200

    logout(client)

    for path in pages:
        response = attacker.get(path)
        assert goes_to_login(response, path), (path, response.status_code)
        assert b"verified@pizza42.test" not in response.data and b"Vera" not in response.data
    assert goes_to_login(attacker.post("/", data=order_form), "/")
    assert len(list(store.all_orders(VERIFIED))) == 1  # nothing was ordered with the stale cookie


def test_logout_leaves_no_session_item(app, client, auth, dynamodb):
    """Before logout the table holds the customer's session; after it, nothing at all."""
    auth.login(VERIFIED)
    [item] = session_items(dynamodb)
    assert item["customer_id"] == {"S": VERIFIED}
    logout(client)
    assert session_items(dynamodb) == []


# -- fixation -------------------------------------------------------------------------------------------


def test_login_issues_a_new_id_and_deletes_the_pre_login_one(app, client, auth, dynamodb):
    """The id that carried the OIDC state before login is gone after it, and never works again."""
    authorize_url = auth.start()
    pre_login = session_id_of(app, client)
    assert session_item(dynamodb, pre_login) is not None  # the state and nonce live on the server
    client.get(auth.authorize(authorize_url))
    logged_in = session_id_of(app, client)
    assert logged_in != pre_login
    assert session_item(dynamodb, pre_login) is None
    assert [item["customer_id"]["S"] for item in session_items(dynamodb)] == [VERIFIED]


def test_an_id_planted_by_an_attacker_is_never_the_customers(app, client, auth):
    """Classic fixation: the attacker starts a login, plants that cookie in the victim's browser, waits."""
    attacker = AuthActions(app.test_client())
    attacker.start()
    planted = attacker._client.get_cookie("session").value
    client.set_cookie("session", planted)
    auth.login(VERIFIED)  # the victim logs in from the planted session
    assert client.get_cookie("session").value != planted
    assert client.get("/account").status_code == 200
    assert goes_to_login(attacker._client.get("/account"), "/account")


def test_a_well_signed_id_the_server_never_issued_is_not_adopted(app, client, auth, dynamodb):
    """An unknown id (say, replayed after logout) gets a fresh id as soon as anything is stored."""
    auth.login(VERIFIED)
    stale = client.get_cookie("session").value
    logout(client)
    client.set_cookie("session", stale)
    auth.login(VERIFIED)
    assert client.get_cookie("session").value != stale
    assert len(session_items(dynamodb)) == 1


# -- timeouts, judged on the server -----------------------------------------------------------------------


def test_the_idle_timeout_ends_a_session_the_browser_still_sends(app, client, auth, app_clock, dynamodb):
    """Sliding: 29 minutes between requests keeps it alive; 30 minutes of silence ends it."""
    auth.login(VERIFIED)
    for _ in range(3):
        app_clock.advance(IDLE - 60)
        assert client.get("/account").status_code == 200
    session_id = session_id_of(app, client)
    app_clock.advance(IDLE)
    item = session_item(dynamodb, session_id)
    assert int(item["expires_at"]["N"]) <= app_clock.now  # TTL may delete it any time now; until then:
    assert goes_to_login(client.get("/account"), "/account")
    page = client.get("/").get_data(as_text=True)
    assert "Welcome" not in page and 'id="order-form"' not in page


def test_an_expired_session_says_so_once(app, client, auth, app_clock):
    """The home page tells the customer why they are logged out."""
    auth.login(VERIFIED)
    client.get("/")
    app_clock.advance(IDLE)
    assert "Your session has expired" in client.get("/").get_data(as_text=True)
    assert "Your session has expired" not in client.get("/").get_data(as_text=True)


def test_the_absolute_lifetime_ends_even_a_busy_session(provider, app_dynamodb, app_clock, dynamodb):
    """SESSION_LIFETIME_HOURS=1: a request every 20 minutes still ends at the hour, whatever the cookie."""
    app = create_app(web_settings(provider, SESSION_LIFETIME_HOURS="1"), dynamodb_client=app_dynamodb,
                     clock=app_clock)
    client = app.test_client()
    AuthActions(client).login(VERIFIED)
    started = app_clock.now
    for _ in range(2):
        app_clock.advance(20 * 60)
        assert client.get("/account").status_code == 200
    session_id = session_id_of(app, client)
    app_clock.advance(20 * 60)
    item = session_item(dynamodb, session_id)
    assert int(item["expires_at"]["N"]) == int(started) + 3600  # capped by the lifetime, not the idle window
    assert goes_to_login(client.get("/account"), "/account")


# -- log out everywhere --------------------------------------------------------------------------------


def test_log_out_everywhere_ends_the_sessions_of_every_browser(app, client, auth, dynamodb):
    """The customer's phone ends the session left open on a shared computer; other customers keep theirs."""
    shared_computer, someone_else = AuthActions(app.test_client()), AuthActions(app.test_client())
    shared_computer.login(VERIFIED)
    someone_else.login(UNVERIFIED)
    auth.login(VERIFIED)
    page = client.get("/account").get_data(as_text=True)
    assert 'action="/logout/everywhere"' in page
    response = client.post("/logout/everywhere", data={"csrf_token": form_fields(page)["csrf_token"]})
    assert response.status_code == 303 and "/oauth2/end_session" in response.headers["Location"]
    assert goes_to_login(shared_computer._client.get("/account"), "/account")
    assert goes_to_login(client.get("/account"), "/account")
    assert someone_else._client.get("/account").status_code == 200
    assert [item["customer_id"]["S"] for item in session_items(dynamodb)] == [UNVERIFIED]


def test_log_out_everywhere_needs_the_csrf_token(app, client, auth, dynamodb):
    """A cross-site POST cannot end the customer's sessions."""
    auth.login(VERIFIED)
    assert client.post("/logout/everywhere").status_code == 400
    assert client.get("/account").status_code == 200
    assert len(session_items(dynamodb)) == 1


# -- more than one app instance --------------------------------------------------------------------------


def test_two_app_instances_share_sessions(provider, dynamodb):
    """Logged in through one instance, known to the other; logged out through the other, gone from both."""
    first, second = (create_app(web_settings(provider), dynamodb_client=dynamodb) for _ in range(2))
    first.config["TESTING"] = second.config["TESTING"] = True  # plain http: the cookie is `session`
    browser = first.test_client()
    AuthActions(browser).login(VERIFIED)
    other = second.test_client()
    other.set_cookie("session", browser.get_cookie("session").value)
    assert other.get("/account").status_code == 200
    logout(other)
    assert goes_to_login(browser.get("/account"), "/account")
