"""The sandbox behind `make run`: emulator, provider and app work together, and `make token` works."""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import boto3
import psutil
import pytest
import requests

from pizza42 import create_app, sandbox
from pizza42.config import load_settings
from tests.integration.edge import require_nginx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def running_sandbox(monkeypatch):
    """The emulator over HTTP and the provider, on free ports, with the app configured as `make run` does."""
    dynamodb_port, idp_port = free_port(), free_port()
    env = sandbox.sandbox_environment(app_port=free_port(), dynamodb_port=dynamodb_port, idp_port=idp_port)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with sandbox.dynamodb_emulator(dynamodb_port), sandbox.identity_provider(idp_port) as issuer:
        app = create_app(load_settings(env))
        sandbox.create_tables(app)
        yield app, issuer


@pytest.mark.slow
def test_a_token_from_a_real_login_places_an_order_in_the_emulator(running_sandbox):
    app, issuer = running_sandbox
    token = sandbox.login_for_token(issuer, "auth0|demo-verified")["id_token"]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    placed = client.post("/api/orders", json={"pizza": "Hawaiian", "size": "small"}, headers=headers)
    assert placed.status_code == 201
    listed = client.get("/api/orders", headers=headers).json
    assert [o["id"] for o in listed["orders"]] == [placed.json["order"]["id"]]
    assert listed["customer_profile"]["total_spent"] == 13


@pytest.mark.slow
def test_a_page_login_keeps_its_session_in_the_emulator_and_logout_removes_it(running_sandbox):
    """`make run` creates the sessions table too: a browser login works, and logging out leaves nothing behind."""
    app, _ = running_sandbox
    client = app.test_client()
    authorize = client.get("/login").headers["Location"]
    answer = requests.post(authorize, data={"sub": "auth0|demo-verified"}, allow_redirects=False, timeout=5)
    callback = urlsplit(answer.headers["Location"])
    assert client.get(f"{callback.path}?{callback.query}").status_code == 302
    assert "Vera Verified" in client.get("/account").get_data(as_text=True)
    emulator = boto3.client("dynamodb", endpoint_url=os.environ["DYNAMODB_ENDPOINT_URL"], region_name="us-east-1")
    assert emulator.scan(TableName="Pizza42-Sessions")["Count"] == 1
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token.group(1)}).status_code == 303
    assert emulator.scan(TableName="Pizza42-Sessions")["Count"] == 0


@pytest.mark.slow
def test_the_unverified_demo_customer_is_refused(running_sandbox):
    app, issuer = running_sandbox
    token = sandbox.login_for_token(issuer, "auth0|demo-unverified")["id_token"]
    response = app.test_client().post("/api/orders", json={"pizza": "Hawaiian", "size": "small"},
                                      headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403 and response.json["action"] == "verify_email"


def _payload(token: str) -> dict:
    """A JWT's claims, unverified (the app verifies them in the tests that use the token)."""
    import base64
    import json

    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


@pytest.mark.slow
def test_staff_and_managers_get_real_access_tokens_that_open_the_shops_api(running_sandbox):
    """(The emulator's tables live as long as the process: other tests' orders may be there too.)"""
    app, issuer = running_sandbox
    client = app.test_client()
    staff, manager = ({"Authorization": f"Bearer {sandbox.login_for_token(issuer, sub)['access_token']}"}
                      for sub in ("auth0|demo-staff", "auth0|demo-manager"))
    customer = {"Authorization": f"Bearer {sandbox.login_for_token(issuer, 'auth0|demo-verified')['id_token']}"}
    order = client.post("/api/orders", json={"pizza": "Supreme", "size": "large"}, headers=customer).json["order"]
    analytics = f"/api/shop/analytics?from={order['date'][:10]}&to={order['date'][:10]}"
    queue = client.get("/api/shop/orders?status=open", headers=staff)
    assert queue.status_code == 200
    [mine] = [o for o in queue.json["orders"] if o["id"] == order["id"]]
    assert mine["customer"] == {"name": "Vera Verified", "email": "verified@pizza42.test"}
    before = client.get(analytics, headers=manager).json["totals"]["cancelled"]
    moved = client.post(f"/api/shop/orders/{order['id']}/status", json={"status": "cancelled"}, headers=staff)
    assert moved.status_code == 200 and moved.json["order"]["history"][-1]["by"] == "auth0|demo-staff"
    assert client.get(analytics, headers=staff).status_code == 403
    figures = client.get(analytics, headers=manager)
    assert figures.status_code == 200 and figures.json["totals"]["cancelled"] == before + 1


@pytest.mark.slow
def test_the_demo_id_tokens_carry_the_roles_and_never_open_the_shops_api(running_sandbox):
    app, issuer = running_sandbox
    roles = {sub: _payload(sandbox.login_for_token(issuer, sub)["id_token"])["https://pizza42.com/roles"]
             for sub in sandbox.DEMO_USERS}
    assert roles == {"auth0|demo-verified": [], "auth0|demo-unverified": [], "auth0|demo-staff": ["staff"],
                     "auth0|demo-manager": ["manager"]}
    id_token = sandbox.login_for_token(issuer, "auth0|demo-manager")["id_token"]
    refused = app.test_client().get("/api/shop/orders?status=open", headers={"Authorization": f"Bearer {id_token}"})
    assert refused.status_code == 403 and refused.json["error"] == "insufficient_permission"


@pytest.mark.slow
def test_a_customers_access_token_orders_but_is_refused_by_the_shop(running_sandbox):
    app, issuer = running_sandbox
    token = sandbox.login_for_token(issuer, "auth0|demo-verified")["access_token"]
    claims = _payload(token)
    assert claims["permissions"] == ["place:orders"] and "https://pizza42.com/roles" not in claims
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    assert client.post("/api/orders", json={"pizza": "Hawaiian", "size": "small"}, headers=headers).status_code == 201
    assert client.get("/api/verify-token", headers=headers).json["token_type"] == "access"
    assert client.get("/api/shop/orders?status=open", headers=headers).status_code == 403


@pytest.mark.slow
@pytest.mark.parametrize(("sub", "kind", "audience"), [
    ("auth0|demo-staff", [], "https://pizza42-api"), ("auth0|demo-manager", [], "https://pizza42-api"),
    ("auth0|demo-verified", [], sandbox.SPA_CLIENT_ID), ("auth0|demo-verified", ["--kind", "access"],
                                                          "https://pizza42-api"),
])
def test_make_token_prints_staff_their_access_token_and_customers_their_id_token(running_sandbox, monkeypatch,
                                                                               capsys, sub, kind, audience):
    """`make -s token CUSTOMER=<sub>` is `python -m pizza42.sandbox token --user <sub>`."""
    app, issuer = running_sandbox
    monkeypatch.setattr(sandbox, "IDP_PORT", int(urlsplit(issuer).port))
    sandbox.main(["token", "--user", sub, *kind])
    token = capsys.readouterr().out.strip()
    claims = _payload(token)
    assert claims["sub"] == sub and audience in ([claims["aud"]] if isinstance(claims["aud"], str) else claims["aud"])
    verified = app.test_client().get("/api/verify-token", headers={"Authorization": f"Bearer {token}"})
    assert verified.status_code == 200 and verified.json["subject"] == sub
    assert verified.json["permissions"] == (list(sandbox.DEMO_PERMISSIONS[sub]) if audience != sandbox.SPA_CLIENT_ID
                                            else None)


def test_the_sandbox_is_never_imported_by_the_production_entry_point():
    code = ("import sys, os; os.environ.update(SECRET_KEY='x'*20, AUTH0_DOMAIN='t.auth0.com', AUTH0_CLIENT_ID='a', "
            "AUTH0_CLIENT_SECRET='b'); import wsgi; "
            "print([m for m in sys.modules if m.startswith(('pizza42.sandbox', 'moto', 'oidc_provider_mock'))])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_run_edge_serves_https_through_nginx_and_stops_everything_on_ctrl_c(tmp_path):
    """`make run-edge` on free ports: nginx answers over HTTPS, redirects HTTP, and Ctrl-C stops every process."""
    require_nginx()
    ports = {name: str(free_port()) for name in ("HTTP", "HTTPS", "DYNAMODB", "IDP")}
    env = {**os.environ, "SANDBOX_EDGE_DIR": str(tmp_path / "edge"), "WEB_CONCURRENCY": "1",
           "SANDBOX_EDGE_HTTP_PORT": ports["HTTP"], "SANDBOX_EDGE_HTTPS_PORT": ports["HTTPS"],
           "SANDBOX_DYNAMODB_PORT": ports["DYNAMODB"], "SANDBOX_IDP_PORT": ports["IDP"]}
    log = tmp_path / "run-edge.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "pizza42.sandbox_edge"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "is running" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        started = proc.pid, *(child.pid for child in psutil.Process(proc.pid).children(recursive=True))
        banner = log.read_text()
        assert f"https://127.0.0.1:{ports['HTTPS']}/" in banner and "gunicorn 2" in banner and "nginx" in banner

        session = requests.Session()
        session.trust_env = False
        session.verify = str(tmp_path / "edge" / "edge.crt")
        health = session.get(f"https://127.0.0.1:{ports['HTTPS']}/api/health", timeout=10)
        assert health.status_code == 200 and "Strict-Transport-Security" in health.headers
        redirect = session.get(f"http://127.0.0.1:{ports['HTTP']}/orders", allow_redirects=False, timeout=10)
        assert redirect.headers["Location"] == f"https://127.0.0.1:{ports['HTTPS']}/orders"

        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.wait(60) == 0
        assert "stopping the edge sandbox" in log.read_text()
        assert not [pid for pid in started if psutil.pid_exists(pid)
                    and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    finally:
        if proc.poll() is None:
            proc.kill()


# --- Busy ports: `make run` and `make run-edge` stop at once, naming the port and the setting that moves it ---

RUN_SETTINGS = ("SANDBOX_APP_PORT", "SANDBOX_DYNAMODB_PORT", "SANDBOX_IDP_PORT")
EDGE_SETTINGS = ("SANDBOX_EDGE_HTTP_PORT", "SANDBOX_EDGE_HTTPS_PORT", "SANDBOX_DYNAMODB_PORT", "SANDBOX_IDP_PORT")
START_BOUND = 15.0  # seconds: python's start-up and imports on a busy 2-core machine; a hang is caught by timeout


def run_with_a_busy_port(module: str, busy_setting: str, tmp_path) -> tuple[subprocess.CompletedProcess, int, float]:
    """Run `python -m module` with every SANDBOX_*_PORT on a free port but `busy_setting`'s, which something holds."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    busy = listener.getsockname()[1]
    env = {**os.environ, "SANDBOX_EDGE_DIR": str(tmp_path / "edge"),
           **{name: str(free_port()) for name in {*RUN_SETTINGS, *EDGE_SETTINGS}}, busy_setting: str(busy)}
    started = time.monotonic()
    try:
        # A timeout, not a wait: the sandbox used to hang for ever when moto's port was taken.
        done = subprocess.run([sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=60)
    finally:
        listener.close()
    return done, busy, time.monotonic() - started


@pytest.mark.parametrize(("module", "command", "setting"),
                         [("pizza42.sandbox", "make run", name) for name in RUN_SETTINGS]
                         + [("pizza42.sandbox_edge", "make run-edge", name) for name in EDGE_SETTINGS])
def test_a_busy_port_stops_the_sandbox_at_once_with_one_line_naming_it_and_its_setting(module, command, setting,
                                                                                        tmp_path):
    done, busy, seconds = run_with_a_busy_port(module, setting, tmp_path)
    assert done.returncode != 0
    lines = (done.stdout + done.stderr).splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{command}: port {busy} ") and f"set {setting} to a free port" in lines[0]
    assert "is running" not in done.stdout
    assert seconds < START_BOUND
    assert not (tmp_path / "edge").exists()  # nothing was started or prepared


def test_two_settings_on_the_same_port_are_refused_before_anything_starts(tmp_path):
    port = str(free_port())
    env = {**os.environ, "SANDBOX_APP_PORT": port, "SANDBOX_IDP_PORT": port, "SANDBOX_DYNAMODB_PORT": str(free_port())}
    done = subprocess.run([sys.executable, "-m", "pizza42.sandbox"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    assert (done.stdout + done.stderr).splitlines() == [
        f"make run: SANDBOX_APP_PORT and SANDBOX_IDP_PORT are both {port}: give each its own port"]


def test_a_malformed_port_setting_is_one_line_naming_it():
    done = subprocess.run([sys.executable, "-m", "pizza42.sandbox"], env={**os.environ, "SANDBOX_IDP_PORT": "94OO"},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert (done.stdout + done.stderr).splitlines() == ["SANDBOX_IDP_PORT must be a port number (1-65535), got '94OO'"]


@pytest.mark.parametrize("server", ["dynamodb_emulator", "identity_provider"])
def test_an_emulator_whose_port_is_taken_meanwhile_fails_at_once_instead_of_hanging(server):
    """After the check, a port taken in the meantime still fails fast (moto's own server waited for ever)."""
    outcome: list[BaseException] = []

    def start() -> None:
        try:
            with getattr(sandbox, server)(listener.getsockname()[1]):
                pass
        except (OSError, SystemExit) as exc:  # werkzeug says why on stderr, then exits: the process stops
            outcome.append(exc)

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        thread = threading.Thread(target=start, daemon=True)
        thread.start()
        thread.join(10)
    assert not thread.is_alive(), f"{server} hung on a busy port"
    assert len(outcome) == 1


@pytest.mark.slow
def test_run_prints_its_banner_only_once_the_app_answers_on_its_port(tmp_path):
    """`make run` on free ports: when the banner says it runs, the app already listens; Ctrl-C stops it."""
    ports = {name: str(free_port()) for name in RUN_SETTINGS}
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "pizza42.sandbox"], env={**os.environ, **ports}, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "is running" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        app = f"http://127.0.0.1:{ports['SANDBOX_APP_PORT']}"
        assert f"Open   {app}/" in log.read_text()
        assert requests.get(app + "/api/health", timeout=5).status_code == 200  # no wait: it was bound first
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
