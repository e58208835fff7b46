"""The production edge for the black-box tests: nginx in front of two gunicorn instances, as `make run-edge` runs it.

nginx runs deploy/nginx/nginx.conf unchanged, with site files for loopback (pizza42/sandbox_nginx.py); each
instance is `gunicorn --config gunicorn.conf.py wsgi:app` on a unix socket (where nginx reaches it) and a
loopback port (for the checks that go around nginx). Clients may send from any 127.x.y.z address, so each
test has its own addresses in nginx's per-address rate limits, and an attack can come from hundreds.
"""

from __future__ import annotations

import json
import math
import os
import ssl
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter

from pizza42.sandbox_nginx import LocalSite, Nginx, nginx_binary, self_signed_certificate
from tests.integration.harness import HOST, Gunicorn, free_port, wait_for


def require_nginx() -> None:
    """Skip (with how to install it) when nginx is missing on a laptop; fail in CI, which must run these tests."""
    try:
        nginx_binary()
    except RuntimeError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc} (CI is set: the edge tests must run)")
        pytest.skip(str(exc))


class FromAddress(HTTPAdapter):
    """A requests adapter whose connections leave from a given loopback address."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, source_address=(self.source, 0), **kwargs)


class Edge:
    """nginx (the shipped config) on free ports, in front of `instances` gunicorns that share only DynamoDB."""

    def __init__(self, run_dir: Path, env: dict[str, str], instances: int = 2) -> None:
        self.run_dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        self.http_port, self.https_port = free_port(), free_port()
        self.url = f"https://{HOST}:{self.https_port}"
        self.env = {**env, "APP_BASE_URL": self.url}
        self.sockets = [run_dir / f"app-{n}.sock" for n in range(1, instances + 1)]
        self.generations = [0] * instances
        self.instances: list[Gunicorn] = []
        self.retired: list[Gunicorn] = []  # stopped or killed instances: their logs still count
        self.nginx: Nginx | None = None
        try:
            self.instances = [self._start(index) for index in range(instances)]
            for instance in self.instances:
                instance.wait_ready()
            self.certificate, key = self_signed_certificate(run_dir, "edge")
            self.nginx = Nginx(LocalSite(run_dir, self.http_port, self.https_port,
                                         [f"unix:{path}" for path in self.sockets], self.certificate, key))
            self.nginx.wait_ready()
        except BaseException:
            self.stop()
            raise

    # -- instances -----------------------------------------------------------------------------

    def _start(self, index: int) -> Gunicorn:
        self.generations[index] += 1
        name = f"app-{index + 1}"
        return Gunicorn(self.run_dir / f"{name}-{self.generations[index]}", self.env, name=name,
                        unix_socket=self.sockets[index])

    def restart(self, index: int) -> Gunicorn:
        """Start instance `index` again (after stop or kill), on the same socket; wait until it serves."""
        self.retired.append(self.instances[index])
        self.instances[index] = self._start(index)
        return self.instances[index].wait_ready()

    def stop(self) -> None:
        """Stop nginx, then every instance."""
        if self.nginx is not None:
            self.nginx.stop()
        for instance in self.instances:
            instance.stop()

    # -- clients -------------------------------------------------------------------------------

    def session(self, source: str = HOST) -> requests.Session:
        """A keep-alive client that trusts the edge's certificate and connects from `source`."""
        session = requests.Session()
        session.trust_env = False  # else REQUESTS_CA_BUNDLE (or a proxy) from the environment would win
        session.verify = str(self.certificate)
        adapter = FromAddress(source)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    def tls_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts the edge's certificate."""
        return ssl.create_default_context(cafile=str(self.certificate))

    # -- what the app logged -------------------------------------------------------------------

    def app_output(self, index: int | None = None) -> str:
        """Everything the instances (all of them, or slot `index`, retired ones included) wrote to stdout."""
        everyone = self.retired + self.instances
        chosen = [g for g in everyone if index is None or g.stdout_path.parent.name.startswith(f"app-{index + 1}-")]
        return "".join(g.stdout for g in chosen)

    def access_lines(self, index: int | None = None) -> list[dict]:
        """The app's JSON access lines (pizza42.access), complete lines only."""
        lines = []
        for line in self.app_output(index).splitlines():
            if line.startswith("{") and '"pizza42.access"' in line:
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    continue  # a line still being written
        return lines

    def access_line(self, request_id: str, timeout: float = 10.0) -> dict:
        """The app's access line for one request id (waiting for it to be written)."""
        def find() -> dict | None:
            return next((line for line in self.access_lines() if line.get("request_id") == request_id), None)

        return wait_for(find, timeout, what=f"the access line of {request_id}")


def attacker_addresses():
    """Distinct loopback source addresses (127.0.1.1, 127.0.1.2, …): one per attacking connection."""
    n = 0
    while True:
        yield f"127.0.{1 + n // 250}.{1 + n % 250}"
        n += 1


def p99(values: list[float]) -> float:
    """The 99th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]
