"""nginx's own answers under /api/ (429, 413, 503) carry the app's CORS headers for the origins CORS_ORIGINS
allows, and none for any other (issue 16): an SPA on another origin sees the 429, not a CORS error.

Each test runs its own nginx (the shipped files, pizza42/sandbox_nginx.py) in front of the edge's two
gunicorns, so its rate-limit budget is its own; the allowed origin is the edge app's CORS_ORIGINS.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from pizza42.edge.cors import cors_origins
from pizza42.sandbox_nginx import LocalSite, Nginx, self_signed_certificate
from tests.integration.conftest import EDGE_SPA_ORIGIN
from tests.integration.edge import FromAddress
from tests.integration.harness import HOST, free_port

pytestmark = pytest.mark.slow

OTHER_ORIGIN = "https://elsewhere.example"  # not in CORS_ORIGINS
CORS = ("Access-Control-Allow-Origin", "Access-Control-Expose-Headers")


def own_nginx(edge, run_dir, upstreams: list[str] | None = None) -> Nginx:
    """nginx with the shipped config and the edge app's CORS_ORIGINS, before the edge's instances (or `upstreams`)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    certificate, key = self_signed_certificate(run_dir, "cors")
    site = LocalSite(run_dir, free_port(), free_port(), upstreams or [f"unix:{path}" for path in edge.sockets],
                     certificate, key, cors_origins=cors_origins(edge.env))
    nginx = Nginx(site)
    try:
        return nginx.wait_ready()
    except BaseException:
        nginx.stop()
        raise


@pytest.fixture
def nginx(edge, tmp_path) -> Iterator[Nginx]:
    """A fresh nginx (fresh rate-limit budgets) before the edge's two instances."""
    server = own_nginx(edge, tmp_path / "nginx")
    yield server
    server.stop()


def client(nginx: Nginx, source: str = HOST) -> requests.Session:
    """A keep-alive client trusting the nginx's certificate, connecting from `source`."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(nginx.site.certificate)
    session.mount("https://", FromAddress(source))
    return session


def cors_headers(answer: requests.Response) -> dict[str, object]:
    """The CORS headers of an answer, the exposed names as a set (order is not meaning)."""
    found: dict[str, object] = {name: answer.headers.get(name) for name in CORS}
    if found["Access-Control-Expose-Headers"]:
        found["Access-Control-Expose-Headers"] = {h.strip() for h in answer.headers["Access-Control-Expose-Headers"]
                                                  .split(",")}
    return found


def past_the_api_limit(session: requests.Session, url: str, origin: str | None) -> requests.Response:
    """Call `url` (from `origin`, or with no Origin) until nginx answers 429 (its burst is 40); that answer."""
    for _ in range(120):
        answer = session.get(url, headers={"Origin": origin} if origin else {}, timeout=5)
        if answer.status_code == 429:
            return answer
        assert answer.status_code == 200, answer.text
    raise AssertionError("nginx never answered 429")


def test_nginxs_429_carries_the_same_cors_headers_as_the_apps_answer_for_an_allowed_origin(nginx):
    session = client(nginx)
    apps = session.get(nginx.https_url + "/api/menu", headers={"Origin": EDGE_SPA_ORIGIN}, timeout=5)
    assert apps.status_code == 200 and apps.headers.get("X-Request-ID")  # the app's own answer
    assert cors_headers(apps)["Access-Control-Allow-Origin"] == EDGE_SPA_ORIGIN

    refused = past_the_api_limit(session, nginx.https_url + "/api/menu", EDGE_SPA_ORIGIN)
    assert refused.json()["error"] == "too_many_requests" and refused.headers["Retry-After"] == "1"
    assert cors_headers(refused) == cors_headers(apps)  # the exact origin echoed, never '*'; the same names exposed
    assert "Retry-After" in cors_headers(refused)["Access-Control-Expose-Headers"]  # the SPA can read it
    assert refused.headers["Vary"] == "Origin"


def test_nginxs_429_for_another_origin_or_none_carries_no_cors_headers(nginx):
    session = client(nginx)
    # Each case checks the 429 it ran into itself: the bucket refills every 100 ms, so a later call may pass.
    for origin in (OTHER_ORIGIN, "https://spa.pizza42.test.elsewhere.example", None):
        refused = past_the_api_limit(session, nginx.https_url + "/api/menu", origin)
        assert cors_headers(refused) == dict.fromkeys(CORS), origin
        assert "Vary" not in refused.headers


def test_nginxs_413_carries_cors_headers_for_an_allowed_origin_only(nginx):
    session = client(nginx)
    for origin, expected in ((EDGE_SPA_ORIGIN, EDGE_SPA_ORIGIN), (OTHER_ORIGIN, None)):
        too_big = session.post(nginx.https_url + "/api/orders", data=b"x" * 200_000, timeout=5,
                               headers={"Origin": origin, "Content-Type": "application/json"})
        assert too_big.status_code == 413 and too_big.json()["error"] == "request_entity_too_large"
        assert too_big.headers.get("Access-Control-Allow-Origin") == expected, origin
        assert "X-Request-ID" not in too_big.headers  # nginx's own answer: the app never saw it


def test_nginxs_503_carries_cors_headers_for_an_allowed_origin_only(edge, tmp_path):
    """With gunicorn unreachable (its socket gone), nginx answers the API's 503 itself."""
    nobody = own_nginx(edge, tmp_path / "down", upstreams=[f"unix:{tmp_path / 'nobody.sock'}"])
    try:
        session = client(nobody)
        for origin, expected in ((EDGE_SPA_ORIGIN, EDGE_SPA_ORIGIN), (OTHER_ORIGIN, None)):
            down = session.get(nobody.https_url + "/api/orders", headers={"Origin": origin}, timeout=5)
            assert down.status_code == 503 and down.json()["error"] == "service_unavailable"
            assert down.headers.get("Access-Control-Allow-Origin") == expected, origin
    finally:
        nobody.stop()


def test_past_the_api_limit_a_preflight_is_still_answered_so_the_browser_can_show_the_429(nginx):
    """The SPA's calls carry a bearer token, so the browser asks first (OPTIONS): that must not be a 429."""
    session = client(nginx)
    # The API's bucket refills one request every 100 ms: a call that comes later than that after the 429 (a
    # loaded machine) is let through (401 here) and proves nothing either way, so the round is played again.
    for _ in range(3):
        past_the_api_limit(session, nginx.https_url + "/api/menu", EDGE_SPA_ORIGIN)
        preflight = session.options(nginx.https_url + "/api/orders/order_1", timeout=5, headers={
            "Origin": EDGE_SPA_ORIGIN, "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization"})
        assert preflight.status_code in (200, 204), preflight.status_code  # answered by the app (flask-cors)
        assert preflight.headers["Access-Control-Allow-Origin"] == EDGE_SPA_ORIGIN
        assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
        actual = session.get(nginx.https_url + "/api/orders/order_1", timeout=5,
                             headers={"Origin": EDGE_SPA_ORIGIN, "Authorization": "Bearer x"})
        if actual.status_code != 401:
            break
    # The preflight was answered while the API itself was refusing this client.
    assert actual.status_code == 429 and actual.headers["Access-Control-Allow-Origin"] == EDGE_SPA_ORIGIN


def test_preflights_alone_are_limited_too(nginx):
    session = client(nginx)
    statuses = []
    started = time.monotonic()
    for _ in range(120):
        statuses.append(session.options(nginx.https_url + "/api/menu", timeout=5, headers={
            "Origin": EDGE_SPA_ORIGIN, "Access-Control-Request-Method": "GET"}).status_code)
    elapsed = time.monotonic() - started
    assert 429 in statuses, statuses
    assert statuses.count(429) <= 120 - 81, statuses  # a burst of 80 more than the first
    assert statuses.count(429) >= 120 - 81 - int(elapsed * 20) - 1, (statuses, elapsed)
