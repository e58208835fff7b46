"""The moving parts of the black-box tests: processes started as an operator would, and a DynamoDB proxy.

- `MotoServer`: moto's DynamoDB emulator as its own process (`python -m moto.server`).
- `DynamoProxy`: a tiny HTTP proxy between the app and the emulator. It forwards one request at a time
  (moto is not thread-safe, and the tests must measure the app's races, not moto's), counts requests by
  `X-Amz-Target`, and can go down (connections refused, open ones cut) or add a delay.
- `RestartableIssuer`: the tests' local OpenID issuer, which can come back on the same port after `stop()`.
- `Gunicorn`: `gunicorn --config gunicorn.conf.py wsgi:app` as a subprocess configured only by environment,
  listening where BIND says or on sockets handed over as systemd does (LISTEN_FDS).

Every process started here is ended by its own id (terminate, then kill), never by name.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import requests

from tests.jwt_helpers import LocalIssuer, RSAKeyFixture, _QuietServer

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv's bin: gunicorn, flask
HOST = "127.0.0.1"
SECRET_KEY = "integration-secret-key-0123456789abcdef"
JWT_PATTERN = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}")


def free_port() -> int:
    """A port nobody listens on right now (bind to 0 and let the kernel choose)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def end_process(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop a process we started, and any children it left behind, by pid: SIGTERM, then SIGKILL."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    _, alive = psutil.wait_procs(children, timeout=3)
    for child in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


# --- DynamoDB emulator ---------------------------------------------------------------------------


class MotoServer:
    """moto's server in its own process, on a free loopback port."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self._log = open(log_dir / "moto.log", "wb")  # closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(self.port)],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=log_dir,
        )
        try:
            wait_for(self._up, 30, 0.1, "the DynamoDB emulator")
        except BaseException:
            self.stop()
            raise

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"moto server exited with {self.proc.returncode}")
        try:
            requests.get(self.url + "/moto-api/", timeout=1)
            return True
        except requests.ConnectionError:
            return False

    def stop(self) -> None:
        end_process(self.proc)
        self._log.close()


class DynamoProxy:
    """A serialising HTTP proxy in front of the emulator that counts, delays, and goes down on demand."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self._upstream = (host, int(port))
        self._serial = threading.Lock()  # one request at a time reaches moto
        self._state = threading.Condition()
        self._connections: set[socket.socket] = set()
        self.counts: Counter[str] = Counter()
        self.agents: Counter[str] = Counter()  # requests by the client's User-Agent product (its first word)
        self.delay = 0.0
        self.down = False
        self.inflight = 0
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.start()

    # -- control ---------------------------------------------------------------------------

    def start(self) -> None:
        """Listen (again, on the same port) and forward."""
        self.down = False
        server = ThreadingHTTPServer((HOST, self.port), self._handler_class())
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Go down like a dead emulator: refuse new connections and cut the open ones."""
        self.down = True
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._state:
            open_connections = list(self._connections)
        for conn in open_connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def snapshot(self) -> Counter[str]:
        """A copy of the request counts so far (by DynamoDB operation)."""
        with self._state:
            return Counter(self.counts)

    def since(self, before: Counter[str]) -> Counter[str]:
        """The requests counted after `before` was taken."""
        return self.snapshot() - before

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no request is being delayed or forwarded."""
        with self._state:
            if not self._state.wait_for(lambda: self.inflight == 0, timeout):
                raise TimeoutError("the DynamoDB proxy still has requests in flight")

    def close(self) -> None:
        self.stop()

    # -- forwarding ------------------------------------------------------------------------

    def _forward(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, list, bytes] | None:
        if self.delay:
            time.sleep(self.delay)
        with self._serial:
            if self.down:
                return None  # the emulator "died" while this request waited
            upstream = http.client.HTTPConnection(*self._upstream, timeout=30)
            try:
                upstream.request(method, path, body=body, headers=headers)
                response = upstream.getresponse()
                return response.status, response.getheaders(), response.read()
            finally:
                upstream.close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self
        hop_by_hop = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like a real endpoint: the app pools connections

            def setup(self) -> None:
                super().setup()
                with proxy._state:
                    proxy._connections.add(self.connection)

            def finish(self) -> None:
                with proxy._state:
                    proxy._connections.discard(self.connection)
                with contextlib.suppress(OSError):
                    super().finish()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = self.headers.get("X-Amz-Target", "")
                with proxy._state:
                    proxy.counts[target.rsplit(".", 1)[-1] or "?"] += 1
                    proxy.agents[(self.headers.get("User-Agent") or "?").split("/")[0]] += 1
                    proxy.inflight += 1
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in hop_by_hop}
                    answer = proxy._forward("POST", self.path, headers, body)
                finally:
                    with proxy._state:
                        proxy.inflight -= 1
                        proxy._state.notify_all()
                if answer is None:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                status, response_headers, payload = answer
                try:
                    self.send_response(status)
                    for name, value in response_headers:
                        if name.lower() not in hop_by_hop | {"server", "date"}:
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    self.close_connection = True  # the app gave up waiting (its read timeout)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


# --- identity provider -----------------------------------------------------------------------------


class RestartableIssuer(LocalIssuer):
    """The local issuer, able to come back on the same address after stop() (the app's AUTH0_ISSUER)."""

    def restart(self) -> None:
        """Serve again on the same port, with the same keys."""
        self.stop()
        self.recover()
        port = int(self.base_url.rsplit(":", 1)[1])
        self._server = _QuietServer((HOST, port), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()


# --- the app under gunicorn --------------------------------------------------------------------------


def base_environment(run_dir: Path, *, issuer: str, dynamodb: str, **extra: str) -> dict[str, str]:
    """Exactly what an operator sets (spec §1 plus the gunicorn knobs), with fake AWS credentials."""
    env = {
        "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(run_dir),
        "XDG_RUNTIME_DIR": str(run_dir),  # gunicorn 27's control socket goes here, one per run
        "LANG": "C.UTF-8",
        "SECRET_KEY": SECRET_KEY,
        "AUTH0_ISSUER": issuer,
        "AUTH0_CLIENT_ID": "pizza42-web",
        "AUTH0_CLIENT_SECRET": "web-client-secret-for-tests",
        "DYNAMODB_ENDPOINT_URL": dynamodb,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "fake-access-key",
        "AWS_SECRET_ACCESS_KEY": "fake-secret-key",
        "AWS_EC2_METADATA_DISABLED": "true",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "4",
    }
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def run_flask(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`flask --app pizza42 <command>` as the operator runs it, with the app's environment."""
    return subprocess.run([str(BIN / "flask"), "--app", "pizza42", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


# systemd's socket activation, in a few lines: the sockets become fds 3, 4, … and LISTEN_FDS/LISTEN_PID say
# so; then exec (the pid stays the one LISTEN_PID names).
_SYSTEMD_HANDOVER = """
import fcntl, os, sys
fds = [fcntl.fcntl(int(fd), fcntl.F_DUPFD, 100) for fd in sys.argv[1].split(",")]
for number, fd in enumerate(fds, 3):
    os.dup2(fd, number)
    os.close(fd)
os.environ.update(LISTEN_FDS=str(len(fds)), LISTEN_PID=str(os.getpid()))
os.execv(sys.argv[2], sys.argv[2:])
"""


class Gunicorn:
    """`gunicorn --config gunicorn.conf.py wsgi:app` in a subprocess; logs captured to files."""

    def __init__(self, run_dir: Path, env: dict[str, str], *, name: str = "gunicorn", scheme: str = "http",
                 listeners: Sequence[socket.socket] = (), port: int | None = None) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        # Its own runtime dir: gunicorn 27 puts its control socket there, and several gunicorns run at once.
        self.env = {**env, "XDG_RUNTIME_DIR": str(run_dir)}
        command = [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app"]
        if listeners:
            # Sockets opened by someone else and handed over, as systemd does (deploy/pizza42.socket):
            # gunicorn serves them and ignores BIND; they outlive it, so a restart loses no connection.
            self.port = next(s.getsockname()[1] for s in listeners if s.family == socket.AF_INET)
            fds = [s.fileno() for s in listeners]
            command = [sys.executable, "-c", _SYSTEMD_HANDOVER, ",".join(map(str, fds)), *command]
        else:
            self.port = port or free_port()  # given when the environment must name it first (APP_BASE_URL)
            self.env["BIND"] = f"{HOST}:{self.port}"
            fds = []
        self.url = f"{scheme}://{HOST}:{self.port}"
        self.stdout_path = run_dir / f"{name}.stdout"
        self.stderr_path = run_dir / f"{name}.stderr"
        self._stdout = open(self.stdout_path, "wb")  # closed in stop()
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=self._stdout, stderr=self._stderr,
                                     pass_fds=fds)

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30, verify: str | bool = True) -> Gunicorn:
        """Wait until /api/health answers and every worker process is up."""
        workers = int(self.env.get("WEB_CONCURRENCY", "2"))

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.stderr[-3000:]}")
            try:
                answer = requests.get(self.url + "/api/health", timeout=5, verify=verify)
            except (requests.ConnectionError, requests.Timeout):
                return False
            return answer.status_code == 200 and len(self.worker_pids()) == workers

        wait_for(ready, timeout, 0.1, "gunicorn to serve /api/health")
        booted = "Booting worker with pid: {}"
        wait_for(lambda: all(booted.format(pid) in self.stderr for pid in self.worker_pids()), timeout, 0.1,
                 "every worker to boot")
        return self

    def worker_pids(self) -> set[int]:
        """The pids of the master's worker processes."""
        try:
            return {child.pid for child in psutil.Process(self.proc.pid).children()}
        except psutil.NoSuchProcess:
            return set()

    def wait_exit(self, timeout: float) -> int:
        """Wait for gunicorn to exit on its own (start-up refused); its exit status."""
        try:
            return self.proc.wait(timeout)
        finally:
            self.stop()

    def stop(self) -> None:
        end_process(self.proc)
        self._stdout.close()
        self._stderr.close()


def workers_alive(pids: set[int]) -> bool:
    """Whether all these processes still run (not zombies)."""
    for pid in pids:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            return False
    return True


# --- customers, tokens and the table ---------------------------------------------------------------

AUDIENCE = "https://pizza42-api"
SPA_CLIENT = "pizza42-spa"
NS = "https://pizza42.com/"
TABLE = "Pizza42-Orders"
SESSIONS_TABLE = "Pizza42-Sessions"
# Spec §3, written out independently of pizza42.menu: the tests check the app against the spec.
PRICES = {
    "Margherita": {"small": 12, "medium": 16, "large": 20},
    "Pepperoni": {"small": 14, "medium": 18, "large": 22},
    "Supreme": {"small": 16, "medium": 20, "large": 24},
    "Hawaiian": {"small": 13, "medium": 17, "large": 21},
}


def new_customer() -> str:
    """A customer id no other test uses."""
    return f"auth0|it-{uuid.uuid4().hex[:12]}"


def price(pizza: str, size: str, quantity: int = 1) -> Decimal:
    return Decimal(PRICES[pizza][size]) * quantity


def sign_token(key: RSAKeyFixture, issuer_url: str, sub: str, **overrides) -> str:
    """An access token for the orders API, as Auth0 issues it with the Post-Login Action's claims."""
    now = int(time.time())
    claims = {
        "iss": issuer_url, "sub": sub, "aud": [AUDIENCE, issuer_url + "/userinfo"],
        "iat": now, "exp": now + 600, "scope": "openid profile email place:orders", "azp": SPA_CLIENT,
        NS + "email": f"{sub.split('|')[-1]}@example.com", NS + "email_verified": True,
        NS + "can_place_orders": True,
    }
    claims.update(overrides)
    return key.sign({k: v for k, v in claims.items() if v is not None})


def count_orders(dynamodb, user_id: str, table: str = TABLE) -> int:
    """How many order items the table holds for a customer (paginated COUNT query)."""
    params = {
        "TableName": table, "Select": "COUNT", "ConsistentRead": True,
        "KeyConditionExpression": "user_id = :u AND begins_with(order_id, :p)",
        "ExpressionAttributeValues": {":u": {"S": user_id}, ":p": {"S": "order_"}},
    }
    total = 0
    while True:
        page = dynamodb.query(**params)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def order_ids(dynamodb, user_id: str, table: str = TABLE) -> list[str]:
    """Every order id stored for a customer."""
    params = {
        "TableName": table, "ConsistentRead": True, "ProjectionExpression": "order_id",
        "KeyConditionExpression": "user_id = :u AND begins_with(order_id, :p)",
        "ExpressionAttributeValues": {":u": {"S": user_id}, ":p": {"S": "order_"}},
    }
    ids: list[str] = []
    while True:
        page = dynamodb.query(**params)
        ids += [item["order_id"]["S"] for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return ids
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def post_order(base_url: str, headers: dict, pizza: str = "Margherita", size: str = "medium", quantity: int = 1,
               *, key: str | None = None, session: requests.Session | None = None, timeout: float = 30,
               **kwargs) -> requests.Response:
    """POST /api/orders with a JSON body (and an Idempotency-Key if given)."""
    extra = {"Idempotency-Key": key} if key else {}
    return (session or requests).post(base_url + "/api/orders", json={"pizza": pizza, "size": size,
                                                                        "quantity": quantity},
                                      headers={**headers, **extra}, timeout=timeout, **kwargs)


def post_order_honouring_retry_after(base_url: str, headers: dict, body: dict, key: str,
                                     attempts: int = 3) -> requests.Response:
    """post_order as a careful client does: a 503 is tried again with the same Idempotency-Key after its
    Retry-After (at most 2 s here), so a loaded emulator's one timeout neither fails nor doubles the order."""
    answer = post_order(base_url, headers, **body, key=key)
    for _ in range(attempts - 1):
        if answer.status_code != 503:
            break
        time.sleep(min(2, int(answer.headers.get("Retry-After", "1"))))
        answer = post_order(base_url, headers, **body, key=key)
    return answer
