"""What nginx does in front of the app (deploy/nginx/nginx.conf, as shipped): TLS, redirects, static files,
request smuggling, forwarded headers, rate limits and size limits.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import ssl
import time
import uuid

import pytest
import requests

from tests.integration.harness import HOST, wait_for

pytestmark = pytest.mark.slow

ROOT_STATIC = __import__("pathlib").Path(__file__).resolve().parents[2] / "static"
API_BURST, LOGIN_BURST = 40, 20  # deploy/nginx/nginx.conf: limit_req ... burst=
API_RATE, LOGIN_RATE = 10.0, 0.5  # requests per second: rate=10r/s, rate=30r/m


def test_plain_http_redirects_to_the_same_url_over_https(edge):
    answer = edge.session().get(f"http://{HOST}:{edge.http_port}/orders?cursor=abc", allow_redirects=False,
                                timeout=5)
    assert answer.status_code == 301
    assert answer.headers["Location"] == f"{edge.url}/orders?cursor=abc"


def _handshake(edge, version: ssl.TLSVersion, ciphers: str | None = None) -> ssl.SSLSocket:
    context = edge.tls_context()
    context.set_ciphers((ciphers or "DEFAULT") + ":@SECLEVEL=0")  # let the client offer what it is asked to
    context.minimum_version = context.maximum_version = version
    context.set_alpn_protocols(["h2", "http/1.1"])
    return context.wrap_socket(socket.create_connection((HOST, edge.https_port), timeout=5), server_hostname=HOST)


def test_tls_1_2_and_1_3_with_http2_and_nothing_older_or_weaker(edge):
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        with _handshake(edge, version) as tls:
            assert tls.selected_alpn_protocol() == "h2"  # HTTP/2 offered and chosen
    # The server refuses them (its alert), not our client.
    with pytest.raises(ssl.SSLError, match="alert protocol version"):
        _handshake(edge, ssl.TLSVersion.TLSv1_1)
    with pytest.raises(ssl.SSLError, match="alert handshake failure"):
        _handshake(edge, ssl.TLSVersion.TLSv1_2, "AES128-SHA")  # no forward secrecy, no AEAD


def test_static_files_come_from_nginx_and_versioned_urls_are_cached_for_a_year(edge):
    session = edge.session()
    page = session.get(edge.url + "/", timeout=5)
    url = re.search(r'href="(/static/style\.css\?v=[0-9a-f]+)"', page.text)[1]
    # The version is the file's content hash, so a new deploy means a new URL.
    assert url.endswith(hashlib.sha256((ROOT_STATIC / "style.css").read_bytes()).hexdigest()[:12])

    versioned = session.get(edge.url + url, timeout=5)
    assert versioned.status_code == 200 and versioned.content == (ROOT_STATIC / "style.css").read_bytes()
    assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert versioned.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" in versioned.headers
    assert session.get(edge.url + "/static/style.css", timeout=5).headers["Cache-Control"] == "no-cache"
    assert session.get(edge.url + "/static/nope.css", timeout=5).status_code == 404
    # gunicorn never saw them: the app logged the page, not the files.
    time.sleep(0.5)
    assert not [line for line in edge.access_lines() if line["path"].startswith("/static/")]


def _probes(outer: str, inner: str) -> dict[str, str]:
    """Request smuggling probes: each hides a second request (`inner`) in a first one (`outer`)."""
    smuggled = f"GET {inner} HTTP/1.1\r\nHost: {HOST}\r\n\r\n"
    ends_chunked = "0\r\n\r\n" + smuggled  # an empty chunked body, then the smuggled request
    as_a_chunk = f"{len(smuggled):x}\r\n{smuggled}\r\n0\r\n\r\n"  # the smuggled request as a chunk
    head = f"POST {outer} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    return {
        "CL.TE": head + f"Content-Length: {len(ends_chunked)}\r\nTransfer-Encoding: chunked\r\n\r\n" + ends_chunked,
        "TE.CL": head + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n" + as_a_chunk,
        "TE.TE": head + f"Content-Length: {len(ends_chunked)}\r\nTransfer-Encoding: chunked\r\n"
                        f"Transfer-Encoding: identity\r\n\r\n" + ends_chunked,
        "TE with a space before the colon": head + f"Content-Length: {len(ends_chunked)}\r\n"
                                                   f"Transfer-Encoding : chunked\r\n\r\n" + ends_chunked,
        "duplicate Content-Length": head + f"Content-Length: 0\r\nContent-Length: {len(smuggled)}\r\n\r\n"
                                    + smuggled,
        "obs-fold Transfer-Encoding": head + f"Content-Length: {len(ends_chunked)}\r\nTransfer-Encoding:\r\n"
                                             f" chunked\r\n\r\n" + ends_chunked,
        "obs-fold header line": head + f"Content-Length: {len(smuggled)}\r\nX-Folded: a\r\n"
                                       f" Transfer-Encoding: chunked\r\n\r\n" + smuggled,
    }


def _send_raw(edge, raw: str) -> list[int]:
    """Send raw bytes over TLS; the statuses of every response read until the server closes (or 3 s)."""
    with edge.tls_context().wrap_socket(socket.create_connection((HOST, edge.https_port), timeout=5),
                                        server_hostname=HOST) as tls:
        tls.sendall(raw.encode())
        tls.settimeout(3)
        data = b""
        try:
            while chunk := tls.recv(65536):
                data += chunk
        except TimeoutError:
            pass
    return [int(status) for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)]


def test_request_smuggling_probes_never_reach_gunicorn_as_two_requests(edge):
    probe = uuid.uuid4().hex[:8]
    answers = {}
    for name, raw in _probes(f"/probe-{probe}-outer", f"/probe-{probe}-inner").items():
        answers[name] = _send_raw(edge, raw)
    # The control: the same hidden request, honestly pipelined after a chunked one, does reach gunicorn,
    # so looking for it in gunicorn's logs below would see a smuggled one.
    pipelined = (f"POST /probe-{probe}-first HTTP/1.1\r\nHost: {HOST}\r\nTransfer-Encoding: chunked\r\n\r\n"
                 f"0\r\n\r\nGET /probe-{probe}-second HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n")
    assert _send_raw(edge, pipelined) == [404, 404]
    wait_for(lambda: f"/probe-{probe}-second" in edge.app_output(), 10, what="the pipelined request's log line")

    # nginx refuses every ambiguous message itself (400, or 501 for an unknown transfer coding)...
    assert all(statuses in ([400], [501]) for statuses in answers.values()), answers
    # ...so gunicorn never saw a smuggled request, nor even the one hiding it.
    logged = edge.app_output()
    assert f"/probe-{probe}-inner" not in logged and f"/probe-{probe}-outer" not in logged


def test_a_client_supplied_x_forwarded_for_never_becomes_the_logged_client_ip(edge):
    spoofed = {"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.10", "Forwarded": "for=203.0.113.11",
               "X-Forwarded-Proto": "http"}

    def ask(session: requests.Session, base_url: str) -> tuple[requests.Response, dict]:
        request_id = f"xff-{uuid.uuid4().hex}"
        answer = session.get(base_url + "/api/health", headers={**spoofed, "X-Request-ID": request_id}, timeout=5)
        assert answer.status_code == 200
        return answer, edge.access_line(request_id)

    # Through nginx: the address nginx saw, whatever the client claims; nginx's scheme (https), not the client's.
    answer, line = ask(edge.session("127.0.0.23"), edge.url)
    assert line["client_ip"] == "127.0.0.23"
    assert "Strict-Transport-Security" in answer.headers
    wait_for(lambda: f'rid={line["request_id"]}' in (edge.run_dir / "access.log").read_text(), 5,
             what="nginx's access line with the same request id")

    # Straight to an instance from an address that is not the proxy: the headers are ignored.
    instance = edge.instances[0]
    answer, line = ask(edge.session("127.0.0.24"), instance.url)
    assert line["client_ip"] == "127.0.0.24"
    assert "Strict-Transport-Security" not in answer.headers

    # From the proxy's address (FORWARDED_ALLOW_IPS=127.0.0.1, as from an ALB): the entry the proxy
    # appended, the last one, never one the client wrote before it.
    request_id = f"xff-{uuid.uuid4().hex}"
    answer = edge.session("127.0.0.1").get(instance.url + "/api/health", timeout=5, headers={
        "X-Forwarded-For": "198.51.100.7, 203.0.113.12", "X-Forwarded-Proto": "https", "X-Request-ID": request_id})
    assert edge.access_line(request_id)["client_ip"] == "203.0.113.12"
    assert "Strict-Transport-Security" in answer.headers


def _burst(session: requests.Session, url: str, count: int, **kwargs) -> tuple[list[requests.Response], float]:
    started = time.monotonic()
    answers = [session.get(url, allow_redirects=False, timeout=5, **kwargs) for _ in range(count)]
    return answers, time.monotonic() - started


def test_the_api_rate_limit_answers_429_in_the_api_error_shape_past_its_burst_and_recovers(edge):
    session = edge.session("127.0.0.40")
    answers, elapsed = _burst(session, edge.url + "/api/menu", 60)
    statuses = [a.status_code for a in answers]
    assert statuses[:API_BURST + 1] == [200] * (API_BURST + 1), statuses
    assert statuses.count(200) <= API_BURST + 1 + int(elapsed * API_RATE) + 1, (statuses, elapsed)
    refused = [a for a in answers if a.status_code == 429]
    assert refused, statuses
    for answer in refused:
        assert answer.headers["Content-Type"] == "application/json" and answer.headers["Retry-After"] == "1"
        body = answer.json()
        assert body["error"] == "too_many_requests" and body["message"]
    time.sleep(1.5)  # 15 requests' worth at 10 a second
    assert [session.get(edge.url + "/api/menu", timeout=5).status_code for _ in range(10)] == [200] * 10
    # The liveness probe is never limited; other addresses have their own allowance.
    health, _ = _burst(session, edge.url + "/api/health", 60)
    assert {a.status_code for a in health} == {200}
    assert edge.session("127.0.0.41").get(edge.url + "/api/menu", timeout=5).status_code == 200


def test_login_and_callback_share_a_rate_limit_that_recovers(edge):
    session = edge.session("127.0.0.42")
    answers, elapsed = _burst(session, edge.url + "/login", LOGIN_BURST + 5)
    statuses = [a.status_code for a in answers]
    assert statuses[:LOGIN_BURST + 1] == [302] * (LOGIN_BURST + 1), statuses
    assert statuses.count(429) >= 5 - int(elapsed * LOGIN_RATE) - 1, (statuses, elapsed)
    page = next(a for a in answers if a.status_code == 429)
    assert page.headers["Content-Type"].startswith("text/html") and "Too many attempts" in page.text
    assert session.get(edge.url + "/callback?code=x&state=y", timeout=5).status_code == 429
    time.sleep(1 / LOGIN_RATE + 0.2)
    assert session.get(edge.url + "/login", allow_redirects=False, timeout=5).status_code == 302


def test_bodies_over_64_kb_are_refused_by_nginx_in_the_api_error_shape(edge, edge_token):
    session = edge.session("127.0.0.43")
    headers = {"Authorization": f"Bearer {edge_token}", "Content-Type": "application/json"}
    too_big = session.post(edge.url + "/api/orders", data=b" " * (64 * 1024 + 1), headers=headers, timeout=5)
    assert too_big.status_code == 413 and too_big.headers["Content-Type"] == "application/json"
    assert too_big.json()["error"] == "request_entity_too_large"
    # Under 64 KB it reaches the app, whose own limit for an order (16 KB) answers in the same shape.
    padded = json.dumps({"pizza": "Margherita", "size": "small", "note": "x" * 20_000})
    app_says = session.post(edge.url + "/api/orders", data=padded, headers=headers, timeout=5)
    assert app_says.status_code == 413 and app_says.json()["error"] == "request_entity_too_large"
    assert app_says.headers.get("X-Request-ID")  # the app's answer, not nginx's
