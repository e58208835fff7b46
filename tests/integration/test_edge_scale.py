"""Scale-out behind the edge: two gunicorn instances that share nothing but DynamoDB and SECRET_KEY.

A customer's session, orders and history work whichever instance answers; an instance that dies mid-load
(SIGTERM, then SIGKILL) loses no accepted order and fails at most the requests in flight on it (nginx
retries idempotent ones on the other instance; POSTs carry an Idempotency-Key and are retried by the
client); a rolling restart, one instance at a time, fails no request. Each instance serves sockets that
outlive it, as systemd's socket unit does in production (tests/integration/edge.py): while an instance
restarts, new connections wait for it instead of being refused.
"""

from __future__ import annotations

import contextlib
import re
import signal
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import psutil
import pytest
import requests

from tests.integration.conftest import EDGE_TABLE
from tests.integration.harness import count_orders, order_ids, wait_for
from tests.web.conftest import form_fields

pytestmark = pytest.mark.slow

CUSTOMER = "auth0|demo-verified"
CLIENTS = 6  # concurrent customers' apps, each with at most one request in flight
RETRIES = 20


@dataclass
class Attempt:
    """One HTTP exchange of the load: what was asked, and how it ended."""

    kind: str  # "POST" or "GET"
    key: str | None
    status: int | None  # None: no answer (connection error or timeout)
    order_id: str | None = None
    by_app: bool = False  # the app answered (its X-Request-ID), not nginx on its behalf


@dataclass
class Load:
    """CLIENTS threads, each from its own address: place an order (retrying with its key), read the history."""

    edge: object
    token: str
    attempts: list[Attempt] = field(default_factory=list)
    placed: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> order id finally answered
    stop: threading.Event = field(default_factory=threading.Event)

    def _client(self, number: int) -> None:
        session = self.edge.session(f"127.0.0.{70 + number}")
        headers = {"Authorization": f"Bearer {self.token}"}
        while not self.stop.is_set():
            key = str(uuid.uuid4())
            for _ in range(RETRIES):  # a real client retries with the same key until it gets an answer
                attempt = self._ask(session, "POST", key, headers)
                if attempt.status == 201:
                    self.placed[key] = attempt.order_id
                    break
                time.sleep(0.2)
            else:
                self.placed[key] = None
            self._ask(session, "GET", None, headers)

    def _ask(self, session: requests.Session, kind: str, key: str | None, headers: dict) -> Attempt:
        try:
            if kind == "POST":
                answer = session.post(self.edge.url + "/api/orders", timeout=30,
                                      json={"pizza": "Pepperoni", "size": "small", "quantity": 1},
                                      headers={**headers, "Idempotency-Key": key})
            else:
                answer = session.get(self.edge.url + "/api/orders?limit=5", headers=headers, timeout=30)
            body = answer.json() if answer.headers.get("Content-Type") == "application/json" else {}
            attempt = Attempt(kind, key, answer.status_code, (body.get("order") or {}).get("id"),
                              "X-Request-ID" in answer.headers)
        except requests.RequestException:
            attempt = Attempt(kind, key, None)
        self.attempts.append(attempt)
        return attempt

    def __enter__(self) -> Load:
        self.threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(CLIENTS)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def failures(self, kind: str) -> list[Attempt]:
        """The attempts of that kind that did not succeed."""
        ok = 201 if kind == "POST" else 200
        return [a for a in self.attempts if a.kind == kind and a.status != ok]


def diagnosis(edge, load: Load) -> str:
    """What went wrong, for an assertion's message: the failed attempts, nginx's errors, the app's 5xx."""
    failed = [a for a in load.attempts if a.status not in (200, 201)]
    errors = [line[:300] for line in edge.nginx.error_log.splitlines() if "[error]" in line][-15:]
    app_5xx = [line for line in edge.access_lines() if line["status"] >= 500][-10:]
    return f"failed: {failed}\nnginx errors: {errors}\napp 5xx: {app_5xx}"


def served(edge, index: int) -> int:
    """How many API requests instance slot `index` (every generation of it) has answered so far."""
    return sum(line["path"].startswith("/api/orders") for line in edge.access_lines(index))


def wait_until_both_serve(edge) -> None:
    """Until nginx has sent each instance a few more of the load's requests."""
    start = [served(edge, index) for index in range(2)]
    wait_for(lambda: all(served(edge, index) >= start[index] + 5 for index in range(2)), 30,
             what="both instances to serve the load")


def assert_every_order_placed_exactly_once(load: Load, dynamodb, before: int) -> None:
    """Every key ended in an order; the table holds exactly those, each once."""
    assert None not in load.placed.values(), "a client gave up on an order"
    stored = set(order_ids(dynamodb, CUSTOMER, EDGE_TABLE))
    assert set(load.placed.values()) <= stored, "an accepted order is not in DynamoDB"
    assert count_orders(dynamodb, CUSTOMER, EDGE_TABLE) - before == len(load.placed)


def log_in(session: requests.Session, edge) -> None:
    """A real authorization-code login through the edge: /login, the provider's form, /callback."""
    start = session.get(edge.url + "/login", allow_redirects=False, timeout=5)
    assert start.status_code == 302, start.status_code
    chosen = session.post(start.headers["Location"], data={"sub": CUSTOMER}, allow_redirects=False, timeout=5)
    assert chosen.headers["Location"].startswith(edge.url + "/callback?")
    finished = session.get(chosen.headers["Location"], allow_redirects=False, timeout=10)
    assert finished.status_code == 302, finished.text[:300]
    assert any(cookie.secure for cookie in session.cookies)  # the session cookie is Secure: https only


def test_a_customers_session_orders_and_history_work_whichever_instance_answers(edge, edge_token):
    session = edge.session("127.0.0.60")
    log_in(session, edge)
    before = session.get(edge.url + "/api/orders", headers={"Authorization": f"Bearer {edge_token}"},
                         timeout=10).json()["customer_profile"]["total_orders"]
    home = session.get(edge.url + "/", timeout=10)
    assert home.status_code == 200 and "Place order" in home.text
    # As a browser sends it: over HTTPS, Flask-WTF also checks that the Referer is this very origin
    # (which works only because the app sees the scheme and Host that nginx was asked for).
    placed = session.post(edge.url + "/", timeout=10, allow_redirects=False, headers={"Referer": edge.url + "/"},
                          data={**form_fields(home.text), "pizza": "Supreme", "size": "large", "quantity": "1"})
    assert placed.status_code == 303 and placed.headers["Location"].endswith("/orders")

    tag = uuid.uuid4().hex[:12]
    for n in range(8):  # nginx spreads them over both instances
        page = session.get(edge.url + "/orders", headers={"X-Request-ID": f"scale-{tag}-{n}"}, timeout=10)
        assert page.status_code == 200
        assert re.search(r"<dt>Orders</dt><dd>(\d+)</dd>", page.text)[1] == str(before + 1)
    by_instance = [sum(line["request_id"].startswith(f"scale-{tag}-") for line in edge.access_lines(i))
                   for i in range(2)]
    assert all(count > 0 for count in by_instance), by_instance


def _kill(instance) -> None:
    """SIGTERM to the master (a graceful stop begins), then SIGKILL to it and its workers."""
    processes = [psutil.Process(instance.proc.pid), *psutil.Process(instance.proc.pid).children()]
    instance.proc.send_signal(signal.SIGTERM)
    time.sleep(0.1)
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    instance.proc.wait(10)


def test_an_instance_killed_mid_load_loses_no_accepted_order_and_fails_only_what_was_in_flight(
        edge, edge_token, edge_dynamodb, dynamodb):
    before = count_orders(dynamodb, CUSTOMER, EDGE_TABLE)
    edge_dynamodb.delay = 0.2  # every DynamoDB call takes 0.2 s: some requests are in flight at the kill
    try:
        with Load(edge, edge_token) as load:
            wait_until_both_serve(edge)
            _kill(edge.instances[0])
            killed_at = len(load.attempts)
            time.sleep(1)  # then systemd's Restart=on-failure brings it back (there after RestartSec)
            edge.restart(0)
            wait_until_both_serve(edge)
    finally:
        edge_dynamodb.delay = 0.0
        if edge.instances[0].proc.poll() is not None:
            edge.restart(0)
        edge.wait_serving()
    print(f"\n[measure] kill mid-load: {len(load.attempts)} requests ({killed_at} before the kill), "
          f"{dict(Counter((a.kind, a.status) for a in load.attempts))}")

    # nginx retried every read on the surviving instance; only POSTs in flight on the dead one failed
    # (at most one per client), and their clients' retries with the same key placed them once.
    assert load.failures("GET") == [], diagnosis(edge, load)
    assert len(load.failures("POST")) <= CLIENTS, diagnosis(edge, load)
    assert_every_order_placed_exactly_once(load, dynamodb, before)


def test_a_rolling_restart_one_instance_at_a_time_fails_no_request(edge, edge_token, dynamodb):
    before = count_orders(dynamodb, CUSTOMER, EDGE_TABLE)
    with Load(edge, edge_token) as load:
        wait_until_both_serve(edge)
        for index in (0, 1):
            edge.instances[index].stop()  # SIGTERM: requests in flight finish, new ones go to the other
            edge.restart(index)
            back = served(edge, index)
            wait_for(lambda index=index, back=back: served(edge, index) > back + 5, 30,
                     what=f"nginx to send requests to instance {index + 1} again")
    print(f"\n[measure] rolling restart: {len(load.attempts)} requests, "
          f"{dict(Counter((a.kind, a.status) for a in load.attempts))}")
    assert load.failures("GET") == [] and load.failures("POST") == [], diagnosis(edge, load)
    assert_every_order_placed_exactly_once(load, dynamodb, before)


def test_with_every_instance_down_nginx_answers_503_in_the_api_error_shape(edge):
    for index, instance in enumerate(edge.instances):
        instance.stop()
        edge.close_sockets(index)  # systemctl stop pizza42.socket pizza42
    try:
        session = edge.session("127.0.0.61")
        api = session.get(edge.url + "/api/menu", timeout=10)
        assert api.status_code == 503 and api.headers["Retry-After"] == "5"
        assert api.json()["error"] == "service_unavailable"
        page = session.get(edge.url + "/", timeout=10)
        assert page.status_code == 503 and "Back in a moment" in page.text
    finally:
        for index in range(len(edge.instances)):
            edge.reopen_sockets(index)
            edge.restart(index)
        edge.wait_serving()  # leave the edge as the next test expects it
