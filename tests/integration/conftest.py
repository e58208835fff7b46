"""Fixtures for the black-box tests: an emulator process, a proxy, a local issuer and gunicorn processes.

One emulator (`python -m moto.server`) serves the whole session; each gunicorn talks to it through its
own `DynamoProxy`, so a fault injected for one app never reaches another. Tests use fresh customer ids,
so they never see each other's orders.
"""

from __future__ import annotations

import gc
import resource
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest

from pizza42 import sandbox
from tests.integration.edge import Edge, require_nginx
from tests.integration.harness import (
    DynamoProxy,
    Gunicorn,
    MotoServer,
    RestartableIssuer,
    base_environment,
    run_flask,
    sign_token,
)
from tests.jwt_helpers import RSAKeyFixture


@pytest.fixture(scope="module", autouse=True)
def _no_long_gc_pauses() -> None:
    """Freeze what earlier tests left alive before each module: the proxies and issuers here are threads of
    this process, and a full collection over it (500 MB after the API suite: 0.55-0.63 s, measured) stalls
    them past the fault suite's 1 s timeouts. Frozen objects are never scanned again; new ones still are."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    """Where this session's processes write their logs (and gunicorn its control socket)."""
    return tmp_path_factory.mktemp("integration")


@pytest.fixture(scope="session")
def moto(run_dir) -> Iterator[MotoServer]:
    """The DynamoDB emulator in its own process."""
    server = MotoServer(run_dir)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dynamodb(moto):
    """A boto3 client straight to the emulator (not through any proxy): the tests' own view of the table."""
    return boto3.session.Session(aws_access_key_id="fake-access-key", aws_secret_access_key="fake-secret-key",
                                 region_name="us-east-1").client("dynamodb", endpoint_url=moto.url)


@pytest.fixture(scope="session")
def signing_key() -> RSAKeyFixture:
    """The identity provider's RSA key."""
    return RSAKeyFixture()


@pytest.fixture(scope="session")
def issuer(signing_key) -> Iterator[RestartableIssuer]:
    """The local OpenID issuer the main app trusts."""
    server = RestartableIssuer(signing_key.jwks)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def proxy(moto) -> Iterator[DynamoProxy]:
    """The main app's path to the emulator: serialised and counted."""
    server = DynamoProxy(moto.url)
    yield server
    server.close()


@pytest.fixture(scope="session")
def app_env(run_dir, issuer, proxy) -> dict[str, str]:
    """The main app's environment, as an operator writes it."""
    return base_environment(run_dir, issuer=issuer.issuer, dynamodb=proxy.url)


@pytest.fixture(scope="session")
def create_table_runs(app_env) -> list:
    """`flask --app pizza42 create-table` (orders and sessions), run twice like a careless operator would."""
    runs = [run_flask(app_env, "create-table") for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
    return runs


@pytest.fixture(scope="session")
def app_server(run_dir, app_env, create_table_runs) -> Iterator[Gunicorn]:
    """The app under gunicorn, configured only by environment variables."""
    server = Gunicorn(run_dir / "main", app_env)
    try:
        yield server.wait_ready()
    finally:
        server.stop()


@pytest.fixture
def start_gunicorn(run_dir) -> Iterator[Callable[..., Gunicorn]]:
    """Start more gunicorns (each stopped when the test ends)."""
    started: list[Gunicorn] = []

    def start(env: dict[str, str], name: str = "gunicorn", scheme: str = "http") -> Gunicorn:
        server = Gunicorn(run_dir / f"{name}-{uuid.uuid4().hex[:6]}", env, name=name, scheme=scheme)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def auth(signing_key, issuer) -> Callable[..., dict]:
    """Authorization headers for a customer of the main issuer."""

    def headers(sub: str, **overrides) -> dict:
        return {"Authorization": "Bearer " + sign_token(signing_key, issuer.issuer, sub, **overrides)}

    return headers


# --- the production edge: nginx in front of two instances ---------------------------------------------

EDGE_TABLE = "Pizza42-Orders-edge"  # its own, small: moto copies a whole table per transaction
EDGE_SESSIONS_TABLE = "Pizza42-Sessions-edge"  # and its own sessions: no other test's logins in it
EDGE_SPA_ORIGIN = "https://spa.pizza42.test"  # the SPA's origin: the app's CORS_ORIGINS, and so nginx's


@pytest.fixture(scope="session")
def demo_provider() -> Iterator[str]:
    """The local OpenID provider with the sandbox's demo customers (login and end-session pages): real logins
    through the edge, and in the sessions' browser tests."""
    with sandbox.identity_provider(port=0) as issuer:
        yield issuer


@pytest.fixture(scope="session")
def edge_dynamodb(moto) -> Iterator[DynamoProxy]:
    """The edge instances' path to the emulator (serialised; it can add a delay)."""
    server = DynamoProxy(moto.url)
    yield server
    server.close()


@pytest.fixture(scope="session")
def edge(run_dir, demo_provider, edge_dynamodb) -> Iterator[Edge]:
    """nginx with the shipped config, in front of two gunicorns (2 workers x 8 threads, as in production)."""
    require_nginx()
    # The attacks hold a few thousand sockets at once; a fresh machine's soft limit is often 1,024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    env = base_environment(run_dir, issuer=demo_provider, dynamodb=edge_dynamodb.url,
                           DYNAMODB_TABLE_NAME=EDGE_TABLE, DYNAMODB_SESSIONS_TABLE_NAME=EDGE_SESSIONS_TABLE,
                           AUTH0_CLIENT_ID=sandbox.WEB_CLIENT_ID,
                           AUTH0_SPA_CLIENT_IDS=sandbox.SPA_CLIENT_ID, AUTHLIB_INSECURE_TRANSPORT="1",
                           GUNICORN_THREADS="8", CORS_ORIGINS=EDGE_SPA_ORIGIN)
    created = run_flask(env, "create-table")
    assert created.returncode == 0, created.stderr
    server = Edge(run_dir / "edge", env)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def edge_token(demo_provider) -> str:
    """A real ID token of the SPA for the verified demo customer (from a real login at the provider)."""
    return sandbox.login_for_token(demo_provider, "auth0|demo-verified")["id_token"]
