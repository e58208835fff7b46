"""Server-side sessions end to end: Chromium against `gunicorn wsgi:app` (two instances), the local OpenID
provider, and moto's DynamoDB behind a proxy that can go down.

The attack of issue 11: on a shared computer, copy the session cookie, let the customer log out through the
provider's end-session page, then replay the copy from another browser. It must get the login redirect on every
personal page and on the order POST, and the session's item must be gone from the table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from tests.browser import log_in, log_out, loopback_context
from tests.integration.harness import SESSIONS_TABLE, DynamoProxy, Gunicorn, base_environment, free_port

pytestmark = [pytest.mark.slow, pytest.mark.browser]

VERA = "auth0|demo-verified"


@pytest.fixture(scope="module")
def sessions_proxy(moto) -> Iterator[DynamoProxy]:
    """These instances' own path to the emulator, so an outage here reaches no other test's app."""
    proxy = DynamoProxy(moto.url)
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def instances(run_dir, demo_provider, sessions_proxy, create_table_runs) -> Iterator[list[Gunicorn]]:
    """Two `gunicorn wsgi:app` instances on one DynamoDB, configured like the sandbox (plain http, loopback)."""
    started = []
    try:
        for name in ("first", "second"):
            port = free_port()
            env = base_environment(run_dir, issuer=demo_provider, dynamodb=sessions_proxy.url,
                                   APP_BASE_URL=f"http://127.0.0.1:{port}", AUTHLIB_INSECURE_TRANSPORT="1")
            started.append(Gunicorn(run_dir / f"sessions-{name}", env, name=name, port=port))
        yield [server.wait_ready() for server in started]
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def contexts(browser) -> Iterator[list[object]]:
    """Two separate browsers, as far as the app can tell (their own cookie jars)."""
    opened = [loopback_context(browser) for _ in range(2)]
    for context in opened:
        context.set_default_timeout(15_000)
    yield opened
    for context in opened:
        context.close()


def first_answer(page, url: str):
    """Open `url` and return the app's own answer to it (the first of any redirects)."""
    request = page.goto(url).request
    while request.redirected_from is not None:
        request = request.redirected_from
    return request.response()


def session_id(context) -> str:
    [cookie] = [c for c in context.cookies() if c["name"] == "session"]
    return cookie["value"].rpartition(".")[0]  # `<id>.<signature>`


def stored(dynamodb, sid: str) -> dict | None:
    key = {"id_hash": {"S": hashlib.sha256(sid.encode()).hexdigest()}}
    return dynamodb.get_item(TableName=SESSIONS_TABLE, Key=key, ConsistentRead=True).get("Item")


def customer_sessions(dynamodb, customer: str) -> list[dict]:
    items = dynamodb.scan(TableName=SESSIONS_TABLE, ConsistentRead=True)["Items"]
    return [item for item in items if item.get("customer_id", {}).get("S") == customer]


def post_form(page, fields: dict):
    """Submit a form to / from this page, as a browser does, and return the app's answer to the POST."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.evaluate("""fields => {
            const form = Object.assign(document.createElement("form"), {method: "post", action: "/"});
            for (const [name, value] of Object.entries(fields)) {
                form.append(Object.assign(document.createElement("input"), {type: "hidden", name, value}));
            }
            document.body.append(form);
            form.submit();
        }""", fields)
    return answer.value


def test_a_cookie_copied_before_logout_is_refused_everywhere_after_it(instances, contexts, dynamodb):
    app = instances[0].url
    customer, attacker = (context.new_page() for context in contexts)
    log_in(customer, app, VERA)
    customer.get_by_role("button", name="Place order").click()
    customer.wait_for_url(app + "/orders")
    receipt = app + customer.get_by_role("link", name="Receipt").first.get_attribute("href")
    customer.goto(app + "/")
    order_form = customer.eval_on_selector_all(
        "#order-form input[type=hidden]", "inputs => Object.fromEntries(inputs.map(i => [i.name, i.value]))")
    order_form.update(pizza="Supreme", size="large", quantity="3")
    copied = contexts[0].cookies()
    contexts[1].add_cookies(copied)
    personal = [app + "/orders", receipt, app + "/account"]
    for url in personal:  # while the customer is logged in, the copy works: this is what logout must undo
        assert first_answer(attacker, url).status == 200 and "Vera Verified" in attacker.content()

    log_out(customer, app)
    assert stored(dynamodb, session_id(contexts[1])) is None  # deleted on the server, not just in one browser

    for url in personal:
        answer = first_answer(attacker, url)
        assert answer.status == 302 and answer.headers["location"] == "/login?next=" + url.removeprefix(app)
        assert "Vera" not in attacker.content() and "verified@pizza42.test" not in attacker.content()
    attacker.goto(app + "/")
    answer = post_form(attacker, order_form)
    assert answer.status == 302 and answer.headers["location"] == "/login?next=/"
    customer.goto(app + "/")
    log_in(customer, app, VERA)
    customer.goto(app + "/orders")
    assert "Supreme" not in customer.locator(".orders-table").inner_text()  # the replayed order was not placed


def test_log_out_everywhere_ends_the_other_browsers_session(instances, contexts, dynamodb):
    app = instances[0].url
    phone, shared_computer = (context.new_page() for context in contexts)
    log_in(shared_computer, app, VERA)
    log_in(phone, app, VERA)
    assert session_id(contexts[0]) != session_id(contexts[1])
    phone.goto(app + "/account")
    phone.get_by_role("button", name="Log out everywhere").click()
    phone.get_by_role("button", name="End session").click()  # the provider's end-session page, for this browser
    phone.wait_for_url(app + "/")
    assert customer_sessions(dynamodb, VERA) == []
    answer = first_answer(shared_computer, app + "/account")
    assert answer.status == 302 and answer.headers["location"] == "/login?next=/account"


def test_two_instances_share_sessions(instances, contexts):
    first, second = (server.url for server in instances)
    page = contexts[0].new_page()
    log_in(page, first, VERA)
    assert first_answer(page, second + "/account").status == 200  # the cookie is the host's, whatever the port
    assert "Vera Verified" in page.content()
    log_out(page, second)
    answer = first_answer(page, first + "/account")
    assert answer.status == 302


def test_dynamodb_down_is_a_try_again_page_and_nobody_is_logged_out(instances, contexts, sessions_proxy):
    app = instances[0].url
    page = contexts[0].new_page()
    log_in(page, app, VERA)
    sessions_proxy.stop()
    try:
        answer = first_answer(page, app + "/orders")
        assert answer.status == 503 and answer.headers["retry-after"]
        assert "try again" in page.content()
    finally:
        sessions_proxy.start()
    assert first_answer(page, app + "/orders").status == 200 and "Vera Verified" in page.content()
