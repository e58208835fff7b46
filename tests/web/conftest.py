"""Fixtures for the web pages: the local OIDC provider in a thread, the app on moto, and a real login."""

from __future__ import annotations

import hashlib
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from flask.json.tag import TaggedJSONSerializer
from werkzeug.serving import make_server

from pizza42.config import Settings, load_settings
from pizza42.orders.store import OrderStore
from pizza42.sandbox import WEB_CLIENT_ID, identity_provider

VERIFIED = "auth0|demo-verified"
UNVERIFIED = "auth0|demo-unverified"
TABLE = "Pizza42-Orders"
SESSIONS_TABLE = "Pizza42-Sessions"


def web_settings(issuer: str, **env: str) -> Settings:
    """Settings as an operator would give them, pointing at the local provider."""
    return load_settings({"SECRET_KEY": "test-secret-key-0123456789", "AUTH0_ISSUER": issuer,
                          "AUTH0_CLIENT_ID": WEB_CLIENT_ID, "AUTH0_CLIENT_SECRET": "web-secret", **env})


def closed_port() -> int:
    """A loopback port nothing listens on (a provider that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_wsgi(app: object) -> Iterator[str]:
    """Serve a WSGI app on a free loopback port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(2)


@pytest.fixture(autouse=True)
def _plain_http_on_loopback(monkeypatch) -> None:
    """The local provider speaks http; Authlib refuses that unless told (as the sandbox tells it)."""
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture(scope="session")
def provider() -> Iterator[str]:
    """oidc-provider-mock with the sandbox's demo customers, in a thread; yields its issuer."""
    with identity_provider(port=0) as issuer:
        yield issuer


@pytest.fixture
def settings(provider) -> Settings:
    """Settings for the app under test (no APP_BASE_URL: redirect URIs come from the request)."""
    return web_settings(provider)


@pytest.fixture
def store(dynamodb) -> OrderStore:
    """The order store the app writes to."""
    return OrderStore(dynamodb, TABLE)


def table_items(dynamodb) -> list[dict]:
    """Everything in the table (orders, summaries, idempotency records)."""
    return dynamodb.scan(TableName=TABLE)["Items"]


def form_fields(html: str) -> dict[str, str]:
    """The hidden inputs (CSRF token, order key) of a page's forms."""
    fields = {}
    for tag in re.findall(r"<input[^>]+>", html):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and value and 'type="hidden"' in tag:
            fields[name.group(1)] = value.group(1)
    return fields


def csp_violations(html: str) -> list[str]:
    """Markup a `default-src 'self'` policy would block: inline scripts, styles, handlers, external assets."""
    found = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    found += re.findall(r"<style\b[^>]*>|\sstyle=", html)
    found += re.findall(r"\son[a-z]+=", html)
    found += re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//[^"]*"', html)
    return found


class AuthActions:
    """Log in through the real provider: the test client plays the browser, requests plays the person."""

    def __init__(self, client) -> None:
        self._client = client

    def start(self, query: str = "") -> str:
        """GET /login; return the provider's authorization URL it redirects to."""
        response = self._client.get("/login" + query)
        assert response.status_code == 302, response.status_code
        return response.headers["Location"]

    def authorize(self, authorize_url: str, sub: str = VERIFIED, **form: str) -> str:
        """Pick a demo user on the provider's form; return our callback path and query it redirects to."""
        answer = requests.post(authorize_url, data=form or {"sub": sub}, allow_redirects=False, timeout=5)
        assert answer.status_code == 302, answer.text[:300]
        location = urlsplit(answer.headers["Location"])
        return f"{location.path}?{location.query}"

    def login(self, sub: str = VERIFIED, query: str = ""):
        """The whole flow; return the callback's response."""
        return self._client.get(self.authorize(self.start(query), sub))

    def place_order(self, pizza: str = "Margherita", size: str = "medium", quantity: str = "2"):
        """Open the ordering page and submit its form, as a browser would."""
        fields = form_fields(self._client.get("/").get_data(as_text=True))
        return self._client.post("/", data={**fields, "pizza": pizza, "size": size, "quantity": quantity})


@pytest.fixture
def auth(client) -> AuthActions:
    """Login helpers bound to the test client."""
    return AuthActions(client)


def session_id_of(app, client) -> str | None:
    """The session id the browser's cookie carries (None without a cookie or with a bad signature)."""
    cookie = client.get_cookie(app.session_interface.get_cookie_name(app))
    return app.session_interface.session_id(app, cookie.value) if cookie else None


def session_item(dynamodb, session_id: str) -> dict | None:
    """The stored item of a session, straight from the table (keyed by the id's SHA-256, as the store does)."""
    key = {"id_hash": {"S": hashlib.sha256(session_id.encode()).hexdigest()}}
    return dynamodb.get_item(TableName=SESSIONS_TABLE, Key=key, ConsistentRead=True).get("Item")


def session_items(dynamodb) -> list[dict]:
    """Every item in the sessions table."""
    return dynamodb.scan(TableName=SESSIONS_TABLE)["Items"]


def read_session(app, client) -> tuple[dict, str]:
    """The browser's session as stored on the server (decoded; {} if there is none) and its raw payload."""
    session_id = session_id_of(app, client)
    assert session_id is not None, "no session cookie"
    # A client of our own (moto's mock serves every client in the process): the app's counters stay untouched.
    item = session_item(boto3.client("dynamodb", region_name="us-east-1"), session_id)
    if item is None:
        return {}, ""
    return TaggedJSONSerializer().loads(item["payload"]["S"]), item["payload"]["S"]
