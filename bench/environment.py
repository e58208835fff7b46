"""Everything the benchmark runs against: emulators, counting proxies, local issuers and the apps under gunicorn."""

from __future__ import annotations

import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench import seed
from bench.load import Proxy, Scenario
from bench.procs import BENCH, HOST, ROOT, Service, free_port, python_module, wait_http
from pizza42.sandbox_nginx import LocalSite, Nginx, self_signed_certificate
from tests.jwt_helpers import LocalIssuer, RSAKeyFixture

DYNALITE_CLI = BENCH / "node_modules" / "dynalite" / "cli.js"


@dataclass
class Bench:
    """The started world: scenarios by key, and what the report needs to know about it."""

    scenarios: dict[str, Scenario]
    apps: dict[str, Service]
    issuers: dict[str, LocalIssuer]
    edge_certificate: Path
    secret_key: str
    gunicorn_args: list[str]


def ensure_dynalite(say: Callable[[str], None]) -> None:
    """Install dynalite into bench/node_modules from the lock file on first use."""
    if DYNALITE_CLI.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed to install dynalite (the read-path emulator): install Node.js 20+")
    say("installing dynalite into bench/node_modules (first run only)…")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=BENCH, check=True)


def _started(stack: ExitStack, service: Service) -> Service:
    stack.callback(service.stop)
    return service


def _emulator_with_proxy(stack: ExitStack, name: str, argv: Callable[[int], list[str]]) -> tuple[Service, Proxy, str]:
    """Start an emulator and a counting proxy in front of it; return (emulator, proxy, proxied endpoint)."""
    port, proxy_port, stats_port = free_port(), free_port(), free_port()
    emulator = _started(stack, Service(name, argv(port)))
    wait_http(f"http://{HOST}:{port}/", emulator)
    proxy_service = _started(stack, Service(f"proxy-{name}", python_module(
        "bench.proxy", str(proxy_port), str(port), str(stats_port))))
    proxy = Proxy(proxy_service, f"http://{HOST}:{proxy_port}", f"http://{HOST}:{stats_port}/")
    wait_http(proxy.stats_url, proxy_service)
    return emulator, proxy, f"http://{HOST}:{port}"


def _app_env(issuer: LocalIssuer, endpoint: str, port: int, secret_key: str, runtime_dir: str) -> dict[str, str]:
    """Spec §1 settings for one gunicorn instance, with the production worker settings of the brief."""
    return {
        "SECRET_KEY": secret_key, "AUTH0_ISSUER": issuer.issuer, "AUTH0_CLIENT_ID": "pizza42-web",
        "AUTH0_CLIENT_SECRET": "bench-not-a-secret", "AUTH0_AUDIENCE": seed.AUDIENCE,
        "AUTH0_SPA_CLIENT_IDS": "pizza42-spa", "API_ORDER_SCOPE": "place:orders", "AWS_REGION": "us-east-1",
        "DYNAMODB_TABLE_NAME": seed.TABLE, "DYNAMODB_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "APP_BASE_URL": f"http://{HOST}:{port}", "CORS_ORIGINS": "http://localhost:3000",
        "AUTHLIB_INSECURE_TRANSPORT": "1",  # the local issuer is plain http on loopback
        "BIND": f"{HOST}:{port}", "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "4",
        "XDG_RUNTIME_DIR": runtime_dir,
    }


def _gunicorn(stack: ExitStack, name: str, wsgi: str, env: dict[str, str], extra: list[str]) -> Service:
    """gunicorn with the production config file; SIGINT is its quick shutdown."""
    argv = python_module("gunicorn", "--config", str(ROOT / "gunicorn.conf.py"), "--no-control-socket", *extra, wsgi)
    return _started(stack, Service(name, argv, env, stop_signal=signal.SIGINT))


def _edge(stack: ExitStack, runtime_dir: str, app_socket: Path) -> Nginx:
    """nginx with the shipped config (deploy/nginx/) in front of one app's unix socket; the load generator's
    address is exempt from the rate limits (its site file's $pizza42_unlimited), as a monitoring host would be."""
    run_dir = Path(runtime_dir) / "edge"
    run_dir.mkdir()
    certificate, key = self_signed_certificate(run_dir, "edge")
    nginx = Nginx(LocalSite(run_dir, free_port(), free_port(), [f"unix:{app_socket}"], certificate, key,
                            unlimited=[HOST]))
    stack.callback(nginx.stop)
    return nginx.wait_ready()


def start(stack: ExitStack, say: Callable[[str], None], gunicorn_args: list[str]) -> Bench:
    """Start and seed everything; every process is registered on `stack` to be stopped."""
    ensure_dynalite(say)
    say("starting dynalite and moto, each behind a counting proxy…")
    dynalite, read_proxy, dynalite_url = _emulator_with_proxy(stack, "dynalite", lambda port: [
        "node", str(DYNALITE_CLI), "--host", HOST, "--port", str(port), "--createTableMs", "0"])
    moto, write_proxy, moto_url = _emulator_with_proxy(stack, "moto", lambda port: python_module(
        "bench.moto_serial", str(port)))

    say("seeding: 10 and 10,000 orders (dynalite), summaries through OrderStore.rebuild_summary…")
    read_db, write_db = seed.client(dynalite_url), seed.client(moto_url)
    seed.create_table(read_db)
    seed.create_sessions_table(read_db)
    seed.create_table(write_db)
    seed.seed_read_table(read_db)
    seed.seed_write_table(write_db)

    key = RSAKeyFixture()
    issuers = {name: LocalIssuer(key.jwks) for name in ("read", "write")}
    for issuer in issuers.values():
        stack.callback(issuer.stop)
    secret_key = secrets.token_hex(32)
    runtime_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="pizza42-bench-"))
    ports = {name: free_port() for name in ("read", "write", "floor")}
    say("starting Pizza 42 twice (GET app on dynalite, POST app on moto) and the floor app, under gunicorn…")
    read_env = _app_env(issuers["read"], read_proxy.url, ports["read"], secret_key, runtime_dir)
    read_socket = Path(runtime_dir) / "read.sock"  # where nginx reaches the GET app (the edge scenario)
    read_env["BIND"] += f",unix:{read_socket}"
    apps = {
        "read": _gunicorn(stack, "pizza42-read", "wsgi:app", read_env, gunicorn_args),
        "write": _gunicorn(stack, "pizza42-write", "wsgi:app", _app_env(
            issuers["write"], write_proxy.url, ports["write"], secret_key, runtime_dir), gunicorn_args),
        "floor": _gunicorn(stack, "floor", "bench.floor_app:app",
                           {**read_env, "BIND": f"{HOST}:{ports['floor']}", "BENCH_FLOOR_CUSTOMER": seed.LARGE},
                           gunicorn_args),
    }
    for name, app in apps.items():
        wait_http(f"http://{HOST}:{ports[name]}" + ("/health" if name == "floor" else "/api/health"), app)
    say("starting nginx (deploy/nginx/nginx.conf) in front of the GET app…")
    edge = _edge(stack, runtime_dir, read_socket)

    def base(name: str) -> str:
        return f"http://{HOST}:{ports[name]}"

    def bearer(issuer: str, user: str) -> str:
        return "Authorization: Bearer " + seed.access_token(key, issuers[issuer].issuer, user)

    def fetches(issuer: str) -> Callable[[], int]:
        return lambda: issuers[issuer].jwks_fetches

    post_tokens = [bearer("write", user).split(" ", 2)[2] for user in seed.POST_CUSTOMERS]
    read = {"emulator": dynalite, "emulator_name": "dynalite", "proxy": read_proxy}
    scenarios = {
        "get10": Scenario("get10", "GET /api/orders, 10 orders", apps["read"], base("read") + "/api/orders",
                          ["get", bearer("read", seed.SMALL)], **read, jwks_fetches=fetches("read")),
        "get10k10": Scenario("get10k10", "GET /api/orders?limit=10, 10,000 orders", apps["read"],
                             base("read") + "/api/orders?limit=10", ["get", bearer("read", seed.LARGE)], **read,
                             jwks_fetches=fetches("read")),
        "get10k": Scenario("get10k", "GET /api/orders, 10,000 orders", apps["read"], base("read") + "/api/orders",
                           ["get", bearer("read", seed.LARGE)], **read, jwks_fetches=fetches("read")),
        "edge": Scenario("edge", "GET /api/orders, 10 orders, through nginx (HTTPS)", apps["read"],
                         edge.https_url + "/api/orders", ["get", bearer("read", seed.SMALL)], **read,
                         jwks_fetches=fetches("read"), edge=psutil.Process(edge.proc.pid)),
        "health": Scenario("health", "GET /api/health (no token, no DynamoDB)", apps["read"],
                           base("read") + "/api/health", ["get", "Accept: application/json"],
                           **{**read, "emulator_name": "none"}),
        "floor": Scenario("floor", "floor: bare Flask + the same Query, 10,000 orders", apps["floor"],
                          base("floor") + "/floor", ["get", "Accept: application/json"], **read),
        **{key: Scenario(key, title, apps["write"], base("write") + "/api/orders", [key, *post_tokens], moto, "moto",
                         write_proxy, jwks_fetches=fetches("write"), before=lambda: seed.reset_write_table(write_db))
           for key, title in (("post", "POST /api/orders"), ("postkey", "POST /api/orders + Idempotency-Key"))},
        "page": Scenario("page", "GET /orders (history page), 10,000 orders", apps["read"], base("read") + "/orders",
                         ["get", "Cookie: session=" + seed.session_cookie(read_db, secret_key, seed.LARGE)], **read,
                         jwks_fetches=fetches("read")),
    }
    return Bench(scenarios, apps, issuers, edge.site.certificate, secret_key, gunicorn_args)

