"""Which client address and scheme the app believes (X-Forwarded-* only from the proxy), and its access line."""

from __future__ import annotations

import json

import pytest

from pizza42 import create_app
from pizza42.config import ConfigError, load_settings

BASE_ENV = {"SECRET_KEY": "test-secret-key-0123456789", "AUTH0_ISSUER": "https://issuer.pizza42.test/",
            "AUTH0_CLIENT_ID": "pizza42-web", "AUTH0_CLIENT_SECRET": "web-secret"}


@pytest.fixture
def lines(capsys):
    """The JSON lines the app wrote to stdout since the last call."""
    def read() -> list[dict]:
        return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return read


def access_lines(lines) -> list[dict]:
    return [line for line in lines() if line["logger"] == "pizza42.access"]


def app_with(dynamodb, **env: str):
    return create_app(load_settings({**BASE_ENV, **env}), dynamodb_client=dynamodb)


# --- the access line --------------------------------------------------------------------------


def test_one_access_line_per_request_with_what_an_operator_needs_and_nothing_sensitive(client, auth, lines):
    headers = {**auth(), "X-Request-ID": "rid-access-1", "Cookie": "session=secret-cookie-value"}
    answer = client.get("/api/orders?limit=5&cursor=c2VjcmV0LWN1cnNvcg", headers=headers)
    assert answer.status_code == 400  # a cursor this API never handed out
    [line] = access_lines(lines)
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/orders", 400)
    assert line["request_id"] == "rid-access-1" and line["client_ip"] == "127.0.0.1"
    assert isinstance(line["duration_ms"], float) and 0 <= line["duration_ms"] < 10_000
    assert line["message"] == "GET /api/orders 400 rid=rid-access-1"
    text = json.dumps(line)
    for secret in ("limit=", "c2VjcmV0", "secret-cookie-value", headers["Authorization"].split()[1][:20],
                   "alice@example.com"):
        assert secret not in text


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/api/health", 200), ("GET", "/api/nowhere", 404), ("DELETE", "/api/orders", 405),
    ("POST", "/api/orders", 401), ("GET", "/", 200),
])
def test_every_answer_gets_exactly_one_access_line(client, lines, method, path, status):
    assert client.open(path, method=method).status_code == status
    assert [(a["method"], a["path"], a["status"]) for a in access_lines(lines)] == [(method, path, status)]


# --- forwarded headers ------------------------------------------------------------------------


@pytest.mark.parametrize(("allow", "peer", "forwarded_for", "client_ip", "secure"), [
    # The default: gunicorn.conf.py's, nginx on loopback.
    ("", "127.0.0.1", "203.0.113.5", "203.0.113.5", True),
    # Anyone else is not the proxy: its claims are ignored.
    ("", "10.0.0.9", "203.0.113.5", "10.0.0.9", False),
    # The ALB's subnet: only the entry it appended (the last) counts, never what the client wrote before it.
    ("10.0.0.0/8", "10.0.0.9", "198.51.100.1, 203.0.113.5", "203.0.113.5", True),
    ("10.0.0.0/8, 192.168.0.0/16", "192.168.4.4", "203.0.113.6", "203.0.113.6", True),
    # A unix-socket peer (nginx on /run/pizza42.sock), which gunicorn trusts as well.
    ("10.0.0.0/8", "", "203.0.113.7", "203.0.113.7", True),
    ("*", "192.0.2.1", "203.0.113.8", "203.0.113.8", True),
])
def test_forwarded_headers_are_believed_only_from_the_proxy(dynamodb, lines, allow, peer, forwarded_for,
                                                            client_ip, secure):
    app = app_with(dynamodb, FORWARDED_ALLOW_IPS=allow)
    answer = app.test_client().get("/api/health", environ_base={"REMOTE_ADDR": peer}, headers={
        "X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "https"})
    assert answer.status_code == 200
    assert ("Strict-Transport-Security" in answer.headers) is secure  # the scheme as believed
    [line] = access_lines(lines)
    assert line["client_ip"] == client_ip


def test_x_forwarded_host_is_never_believed(dynamodb):
    # nginx and an ALB pass the Host the client asked for; an ALB would also pass a client's X-Forwarded-Host.
    client = app_with(dynamodb, TRUSTED_HOSTS="shop.pizza42.test").test_client()
    honest = client.get("/api/menu", headers={"Host": "shop.pizza42.test", "X-Forwarded-Host": "evil.test"})
    forged = client.get("/api/menu", headers={"Host": "evil.test", "X-Forwarded-Host": "shop.pizza42.test"})
    assert (honest.status_code, forged.status_code) == (200, 400)


@pytest.mark.parametrize("value", ["10.0.0.1/8", "not-an-address", "10.0.0.0/8, nope"])
def test_a_malformed_forwarded_allow_ips_stops_start_up_naming_it(value):
    with pytest.raises(ConfigError, match="FORWARDED_ALLOW_IPS"):
        load_settings({**BASE_ENV, "FORWARDED_ALLOW_IPS": value})


def test_forwarded_allow_ips_defaults_to_loopback_like_gunicorn_conf():
    assert load_settings(BASE_ENV).forwarded_allow_ips == ("127.0.0.1",)
