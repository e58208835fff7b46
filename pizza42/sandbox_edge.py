"""`make run-edge`: the sandbox of `make run` behind the production edge — nginx in front of two gunicorns.

    python -m pizza42.sandbox_edge

nginx (Debian's package) runs deploy/nginx/nginx.conf with site files for loopback (pizza42/sandbox_nginx.py)
on http://127.0.0.1:8080 and https://127.0.0.1:8443 (a self-signed certificate made at start); behind it,
two gunicorns with the production gunicorn.conf.py, each on its own unix socket, sharing only DynamoDB
(the emulator) and SECRET_KEY; the local identity provider as in `make run`. Everything lives in
.sandbox/edge/ (config, certificate, sockets, logs) and is stopped on Ctrl-C.

Unlike production, where systemd holds the socket (deploy/pizza42.socket) so connections wait while gunicorn
restarts, each gunicorn here binds its own: stop one, and nginx sends its requests to the other.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

from pizza42 import sandbox
from pizza42.edge.cors import cors_origins
from pizza42.sandbox_nginx import ROOT, LocalSite, Nginx, self_signed_certificate

HTTP_PORT = sandbox.port_setting("SANDBOX_EDGE_HTTP_PORT", 8080)
HTTPS_PORT = sandbox.port_setting("SANDBOX_EDGE_HTTPS_PORT", 8443)
# Every port `make run-edge` listens on, and the setting that moves it (the gunicorns use unix sockets).
EDGE_PORTS = (("nginx's HTTP", HTTP_PORT, "SANDBOX_EDGE_HTTP_PORT"),
              ("nginx's HTTPS", HTTPS_PORT, "SANDBOX_EDGE_HTTPS_PORT"),
              *[port for port in sandbox.RUN_PORTS if port[2] != "SANDBOX_APP_PORT"])
INSTANCES = 2
RUN_DIR = Path(os.environ.get("SANDBOX_EDGE_DIR", ROOT / ".sandbox" / "edge"))


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (to ask a gunicorn instance directly, as nginx does)."""

    def __init__(self, path: Path, timeout: float = 2.0) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        """Connect to the socket file instead of a host and port."""
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(str(self.path))


class Instance:
    """One gunicorn (`gunicorn --config gunicorn.conf.py wsgi:app`) on a unix socket; logs to a file."""

    def __init__(self, run_dir: Path, number: int, env: dict[str, str]) -> None:
        self.socket = run_dir / f"app-{number}.sock"
        self.log_path = run_dir / f"app-{number}.log"
        runtime = run_dir / f"app-{number}"  # gunicorn's control socket goes to XDG_RUNTIME_DIR
        runtime.mkdir(exist_ok=True)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
                env={**os.environ, **env, "BIND": f"unix:{self.socket}", "XDG_RUNTIME_DIR": str(runtime)},
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def healthy(self) -> bool:
        """Whether /api/health answers 200 on the instance's own socket."""
        connection = UnixHTTPConnection(self.socket)
        try:
            connection.request("GET", "/api/health")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait for /api/health; fail with the end of the log if gunicorn exits or never answers."""
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
                raise RuntimeError(f"gunicorn on {self.socket} did not start:\n{tail}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Quick shutdown (SIGINT, as on a terminal's Ctrl-C), then SIGKILL to what is left of its group."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # workers left behind, if any (their own session)
        except ProcessLookupError:
            pass
        self.proc.wait(5)


def _banner(env: dict[str, str], nginx: Nginx, instances: list[Instance]) -> str:
    here = Path.cwd()

    def short(path: Path) -> str:
        return str(path.relative_to(here)) if path.is_relative_to(here) else str(path)

    base, cacert = nginx.https_url, short(nginx.site.certificate)
    apps = "\n".join(f"  gunicorn {n}          pid {i.proc.pid}, unix:{short(i.socket)}, log {short(i.log_path)}"
                     for n, i in enumerate(instances, 1))
    return f"""
  Pizza 42 behind its production edge is running (Ctrl-C stops everything).

  Open   {base}/     (a self-signed certificate: accept it once; {nginx.http_url}/ redirects there)
         log in as a demo customer, as with `make run`: auth0|demo-verified or auth0|demo-unverified

  nginx               pid {nginx.proc.pid}, deploy/nginx/nginx.conf + site files in {short(nginx.conf.parent)}/pizza42/
                      logs {short(nginx.site.run_dir / "access.log")}, {short(nginx.site.run_dir / "error.log")}
{apps}
  DynamoDB emulator   {env["DYNAMODB_ENDPOINT_URL"]}   (tables Pizza42-Orders, Pizza42-Sessions)
  Identity provider   {env["AUTH0_ISSUER"]}

  The API through the edge (the certificate is {cacert}):
    TOKEN=$(make -s token)
    curl -s --cacert {cacert} {base}/api/health
    curl -s --cacert {cacert} -X POST {base}/api/orders -H "Authorization: Bearer $TOKEN" \\
         -H 'Content-Type: application/json' -H "Idempotency-Key: $(uuidgen)" \\
         -d '{{"pizza": "Margherita", "size": "medium", "quantity": 2}}'
    curl -s --cacert {cacert} {base}/api/orders -H "Authorization: Bearer $TOKEN"
"""


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve_edge() -> None:
    """Start the emulator, the provider, two gunicorns and nginx; block until interrupted, then stop them all."""
    from pizza42 import create_app
    from pizza42.config import load_settings

    sandbox.check_ports_free("make run-edge", EDGE_PORTS)
    sandbox.quiet_console()
    # SIGINT too: a job started in the background begins with it ignored, and Python then keeps it so.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    shutil.rmtree(RUN_DIR, ignore_errors=True)
    RUN_DIR.mkdir(parents=True)
    base_url = f"https://{sandbox.HOST}:{HTTPS_PORT}"
    env = {**sandbox.sandbox_environment(), "APP_BASE_URL": base_url}
    os.environ.update(env)
    try:
        with ExitStack() as stack:
            stack.enter_context(sandbox.dynamodb_emulator())
            stack.enter_context(sandbox.identity_provider())
            sandbox.create_tables(create_app(load_settings(env)))
            instances = []
            for number in range(1, INSTANCES + 1):
                instances.append(Instance(RUN_DIR, number, env))
                stack.callback(instances[-1].stop)
            for instance in instances:
                instance.wait_ready()
            certificate, key = self_signed_certificate(RUN_DIR, "edge", days=30)
            nginx = Nginx(LocalSite(RUN_DIR, HTTP_PORT, HTTPS_PORT, [f"unix:{i.socket}" for i in instances],
                                    certificate, key, cors_origins=cors_origins(env)))
            stack.callback(nginx.stop)
            nginx.wait_ready()
            stack.callback(signal.signal, signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C cannot cut clean-up
            print(_banner(env, nginx, instances), flush=True)
            while all(i.proc.poll() is None for i in instances) and nginx.proc.poll() is None:
                time.sleep(0.5)
            print("\na process of the edge exited on its own: stopping the rest", flush=True)
    except KeyboardInterrupt:
        print("\nstopping the edge sandbox", flush=True)


if __name__ == "__main__":
    serve_edge()
