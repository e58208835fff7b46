"""Hostile clients for the edge tests: connections that hold a server's attention without finishing a request.

- slow headers ("slowloris"): a request line, then one more header line every few seconds, never the end;
- slow bodies ("slow POST"): a complete head announcing a body, then one byte of it every few seconds;
- idle keep-alive connections: one real request each, then silence.

Each connection may leave from its own loopback address (as a distributed attack would), and a
connection counts as closed once the server hung up or answered.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
from collections.abc import Callable, Iterator

HOST = "127.0.0.1"


def slow_head(path: str = "/api/health") -> bytes:
    """The start of a GET that never ends its header block."""
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: slowloris\r\n".encode()


def header_line(round_number: int) -> bytes:
    """One more header line."""
    return f"X-Slow-{round_number}: {round_number}\r\n".encode()


def slow_post(path: str = "/", length: int = 10_000) -> bytes:
    """A complete head announcing a `length`-byte form, and its first byte.

    The ordering form ("/"): the app reads a form body before anything else (its CSRF check), so a
    body that never ends would hold one of gunicorn's threads for as long as it trickles.
    """
    return (f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {length}\r\n\r\np").encode()


def body_byte(round_number: int) -> bytes:
    """One more byte of the body."""
    return b"p"


def _closed(sock: socket.socket) -> bool:
    """Whether the server hung up (or answered, which ends what the attacker wanted), without waiting."""
    sock.settimeout(0)
    try:
        return sock.recv(4096) is not None  # data (an answer) or b"" (hung up)
    except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
        return False
    except OSError:
        return True  # reset


class SlowClients:
    """A group of connections to one port that send `head`, then `trickle(n)` every `interval` seconds."""

    def __init__(self, port: int, head: bytes, trickle: Callable[[int], bytes], *,
                 tls: ssl.SSLContext | None = None, sources: Iterator[str] | None = None) -> None:
        self.port, self.head, self.trickle, self.tls, self.sources = port, head, trickle, tls, sources
        self.open_sockets: list[socket.socket] = []
        self.refused = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self, count: int) -> SlowClients:
        """Open `count` connections and send each its head."""
        for _ in range(count):
            source = (next(self.sources), 0) if self.sources else None
            try:
                sock = socket.create_connection((HOST, self.port), timeout=5, source_address=source)
                if self.tls:
                    sock = self.tls.wrap_socket(sock, server_hostname=HOST)
                sock.sendall(self.head)
            except OSError:
                self.refused += 1
                continue
            self.open_sockets.append(sock)
        return self

    def start_trickling(self, interval: float) -> None:
        """Send every open connection `trickle(n)` every `interval` seconds, in a thread."""
        def run() -> None:
            round_number = 0
            while not self._stop.wait(interval):
                round_number += 1
                with self._lock:
                    for sock in self.open_sockets:
                        with contextlib.suppress(OSError):
                            sock.settimeout(1)
                            sock.sendall(self.trickle(round_number))

        self._stop.clear()
        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop_trickling(self) -> None:
        """Fall silent (the connections stay open)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def still_open(self) -> int:
        """How many connections the server has neither closed nor answered."""
        with self._lock:
            return sum(not _closed(sock) for sock in self.open_sockets)

    def close(self) -> None:
        """Stop trickling and close every connection."""
        self.stop_trickling()
        with self._lock:
            for sock in self.open_sockets:
                with contextlib.suppress(OSError):
                    sock.close()
            self.open_sockets.clear()

    def __enter__(self) -> SlowClients:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class IdleKeepAlive:
    """Connections that made one request over HTTPS, read the answer, and then say nothing."""

    def __init__(self, port: int, tls: ssl.SSLContext, path: str) -> None:
        self.port, self.tls, self.path = port, tls, path
        self.connections: list[http.client.HTTPSConnection] = []
        self.failed = 0

    def open(self, count: int) -> IdleKeepAlive:
        """Open `count` connections, each answered once (a 200) and then kept alive."""
        for _ in range(count):
            connection = http.client.HTTPSConnection(HOST, self.port, context=self.tls, timeout=10)
            try:
                connection.request("GET", self.path)
                answer = connection.getresponse()
                answer.read()
                if answer.status != 200 or answer.will_close:
                    self.failed += 1
            except OSError:
                self.failed += 1
            self.connections.append(connection)
        return self

    def still_open(self) -> int:
        """How many the server has not closed."""
        return sum(c.sock is not None and not _closed(c.sock) for c in self.connections)

    def close(self) -> None:
        """Close them all."""
        for connection in self.connections:
            connection.close()
        self.connections.clear()

    def __enter__(self) -> IdleKeepAlive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
