"""A scripted stand-in for DynamoDB's HTTP endpoint, for fault tests of the app's DynamoDB clients.

Each request it reads is answered by the next step of its script (then by `default`): an answer, an
answer after which the server quietly closes the keep-alive connection, a dropped connection, or
silence. It records every request (headers, body, which connection it came on).
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Answer:
    """An HTTP answer; `then_close` closes the connection after it without saying so (a half-closed keep-alive).

    `chunked` sends the body in chunked transfer encoding; `version` is the answer's HTTP version.
    """

    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    then_close: bool = False
    chunked: bool = False
    version: str = "HTTP/1.1"
    truncated: bool = False  # promise the whole body, send half of it, then close

    @property
    def ends_connection(self) -> bool:
        """Whether the server closes the connection after this answer."""
        return (self.truncated or self.then_close or self.version != "HTTP/1.1"
                or self.headers.get("Connection") == "close")


@dataclass
class Drop:
    """Read the request, then close the connection without answering."""


@dataclass
class Silence:
    """Read the request and never answer (until the client gives up or the server stops)."""


def error_body(code: str, message: str = "scripted") -> bytes:
    """DynamoDB's JSON error body for an error code."""
    return json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}).encode()


@dataclass
class Seen:
    """One request the server read."""

    headers: dict[str, str]
    body: bytes
    connection: int

    @property
    def target(self) -> str:
        """The X-Amz-Target operation (e.g. `DynamoDB_20120810.Query`)."""
        return self.headers.get("x-amz-target", "")


class ScriptedDynamoDB:
    """A loopback HTTP(S) server answering DynamoDB calls from a script."""

    def __init__(self, script: list | None = None, default: Callable[[Seen], object] | None = None,
                 tls_files: tuple[Path, Path] | None = None) -> None:
        self.script = list(script or [])
        self.default = default or (lambda seen: Answer(body=b'{"Items":[],"Count":0,"ScannedCount":0}'))
        self.seen: list[Seen] = []
        self.connections = 0
        self.closed = threading.Event()  # set once the server has closed a connection
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._tls = None
        if tls_files:
            self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._tls.load_cert_chain(*tls_files)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"{'https' if tls_files else 'http'}://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        """Stop accepting and release every waiting connection."""
        self._stopped.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                number = self.connections
            threading.Thread(target=self._serve, args=(sock, number), daemon=True).start()

    def _next_step(self, seen: Seen) -> object:
        with self._lock:
            self.seen.append(seen)
            return self.script.pop(0) if self.script else self.default(seen)

    def _serve(self, sock: socket.socket, number: int) -> None:
        try:
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_side=True)
            reader = sock.makefile("rb")
            while True:
                seen = _read_request(reader, number)
                if seen is None:
                    return
                step = self._next_step(seen)
                if isinstance(step, Drop):
                    return
                if isinstance(step, Silence):
                    self._stopped.wait()
                    return
                data = _answer_bytes(step)
                sock.sendall(data[:len(data) - len(step.body) // 2] if step.truncated else data)
                if step.ends_connection:
                    return
        except (OSError, ssl.SSLError):
            return
        finally:
            sock.close()
            self.closed.set()


def _read_request(reader: object, number: int) -> Seen | None:
    if not reader.readline():  # the request line; nothing means the client closed the connection
        return None
    headers = {}
    while (line := reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers.get("content-length", "0")))
    return Seen(headers=headers, body=body, connection=number)


def _answer_bytes(answer: Answer) -> bytes:
    reason = {200: "OK", 400: "Bad Request", 500: "Internal Server Error", 503: "Service Unavailable"}
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "scripted", **answer.headers}
    body = answer.body
    if answer.chunked:
        headers["Transfer-Encoding"] = "chunked"
        pieces = [body[i:i + 7] for i in range(0, len(body), 7)]
        body = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"
    else:
        headers["Content-Length"] = str(len(body))
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"{answer.version} {answer.status} {reason.get(answer.status, 'Status')}\r\n{head}\r\n".encode() + body
