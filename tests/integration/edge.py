"""The production edge for the black-box tests: nginx in front of two gunicorn instances, as `make run-edge` runs it.

nginx runs deploy/nginx/nginx.conf unchanged, with site files for loopback (pizza42/sandbox_nginx.py); each
instance is `gunicorn --config gunicorn.conf.py wsgi:app` serving a unix socket (where nginx reaches it) and
a loopback port (for the checks that go around nginx). Both sockets are opened here and handed to gunicorn
the way systemd hands it deploy/pizza42.socket, so they outlive an instance's restart, as in production.
Clients may send from any 127.x.y.z address, so each test has its own addresses in nginx's per-address rate
limits, and an attack can come from hundreds.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import ssl
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter

from pizza42.edge.cors import cors_origins
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
        self.listeners = [self._listen(path) for path in self.sockets]
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
                                         [f"unix:{path}" for path in self.sockets], self.certificate, key,
                                         cors_origins=cors_origins(self.env)))
            self.nginx.wait_ready()
        except BaseException:
            self.stop()
            raise

    # -- instances -----------------------------------------------------------------------------

    @staticmethod
    def _listen(path: Path) -> list[socket.socket]:
        """An instance's listening sockets, as systemd opens them: its unix socket and a loopback port."""
        path.unlink(missing_ok=True)
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.bind(str(path))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.bind((HOST, 0))
        for listener in (unix, tcp):
            listener.listen(2048)
        return [unix, tcp]

    def _start(self, index: int) -> Gunicorn:
        self.generations[index] += 1
        name = f"app-{index + 1}"
        return Gunicorn(self.run_dir / f"{name}-{self.generations[index]}", self.env, name=name,
                        listeners=self.listeners[index])

    def restart(self, index: int) -> Gunicorn:
        """Stop instance `index` if it runs, start it again on the same sockets; wait until it serves."""
        self.instances[index].stop()
        self.retired.append(self.instances[index])
        self.instances[index] = self._start(index)
        return self.instances[index].wait_ready()

    def wait_serving(self, timeout: float = 15.0) -> None:
        """Until nginx passes requests to every instance again (it rests a failed one for fail_timeout, 2 s)."""
        session = self.session()

        def both_answer() -> bool:
            return all(session.get(self.url + "/api/health", timeout=5).status_code == 200
                       for _ in range(2 * len(self.instances)))

        wait_for(both_answer, timeout, interval=0.5, what="nginx to use every instance again")

    def close_sockets(self, index: int) -> None:
        """Close an instance's sockets (`systemctl stop pizza42.socket`): connecting is refused from now on."""
        for listener in self.listeners[index]:
            listener.close()

    def reopen_sockets(self, index: int) -> None:
        """Open an instance's sockets again (on a new loopback port); start the instance after this."""
        self.listeners[index] = self._listen(self.sockets[index])

    def stop(self) -> None:
        """Stop nginx, then every instance, then close their sockets."""
        if self.nginx is not None:
            self.nginx.stop()
        for instance in self.instances:
            instance.stop()
        for listeners in self.listeners:
            for listener in listeners:
                with contextlib.suppress(OSError):
                    listener.close()

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
