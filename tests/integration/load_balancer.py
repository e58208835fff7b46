"""A client that uses its connections as an AWS load balancer does: one keep-alive connection, reused at once.

For issue 16's hazard: a `POST /api/orders` without a token and with a large body, then an ordinary request
on the same connection. The request is written whole (from a thread, as a balancer streams the client's body)
while the answer is read; when the answer announces keep-alive the next request goes on that connection at
once, with no check that it is still open (a balancer reuses target connections across customers).
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field

# What can happen to one round (the POST, then the next request), worst first.
BROKEN = "broken keep-alive"  # announced keep-alive, yet the next request on it got no answer
CUT = "body cut after keep-alive"  # announced keep-alive, then closed while the POST's body was still sent
NO_ANSWER = "no answer to the POST"  # reset or closed before the POST's answer
RESET_AFTER_CLOSE = "reset after an announced close"  # Connection: close, then RST instead of a clean end
CLOSED = "closed as announced"  # Connection: close on the answer, then a clean end of stream
KEPT = "kept alive"  # the next request on the same connection got its answer


@dataclass
class Rounds:
    """Outcomes of many rounds, and the POST answers' statuses."""

    outcomes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def failures(self) -> int:
        """Rounds that left the client without a proper answer: what a balancer turns into a 502."""
        return sum(self.outcomes[name] for name in (BROKEN, CUT, NO_ANSWER, RESET_AFTER_CLOSE))


def _read_answer(sock: socket.socket) -> http.client.HTTPResponse:
    answer = http.client.HTTPResponse(sock)
    answer.begin()
    answer.read()
    return answer


def _send(sock: socket.socket, data: bytes, errors: list[OSError]) -> None:
    try:
        sock.sendall(data)
    except OSError as exc:  # the server closed or reset while the body was still going
        errors.append(exc)


def _clean_end(sock: socket.socket) -> bool:
    """After an announced close: whether the server ends the stream cleanly (EOF) rather than resetting it."""
    try:
        while sock.recv(65536):
            pass
        return True
    except (ConnectionResetError, TimeoutError):
        return False


def post_then_reuse(host: str, port: int, body_size: int, rounds: int, *, path: str = "/api/orders",
                    forwarded_for: str | None = None, timeout: float = 10.0) -> Rounds:
    """Round after round on one connection (a new one only once the server has closed it): the POST with a
    `body_size` body and no token, then `GET /api/health` on the same connection if it was kept alive."""
    result = Rounds()
    body = b"{" + b" " * (body_size - 2) + b"}"
    extra = f"X-Forwarded-For: {forwarded_for}\r\n" if forwarded_for else ""
    post = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body
    health = f"GET /api/health HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()
    sock: socket.socket | None = None
    try:
        for _ in range(rounds):
            if sock is None:
                sock = socket.create_connection((host, port), timeout=timeout)
            outcome, reusable = _one_round(sock, post, health, result)
            result.outcomes[outcome] += 1
            if not reusable:
                sock.close()
                sock = None
    finally:
        if sock is not None:
            sock.close()
    return result


def _one_round(sock: socket.socket, post: bytes, health: bytes, result: Rounds) -> tuple[str, bool]:
    """One round's outcome, and whether the connection may carry the next one."""
    send_errors: list[OSError] = []
    sender = threading.Thread(target=_send, args=(sock, post, send_errors), daemon=True)
    sender.start()
    try:
        answer = _read_answer(sock)
    except (OSError, http.client.HTTPException):
        sender.join(10)
        return NO_ANSWER, False
    sender.join(10)
    result.statuses[answer.status] += 1
    if answer.will_close:
        return (CLOSED if _clean_end(sock) else RESET_AFTER_CLOSE), False
    if send_errors:  # keep-alive announced, yet the server stopped taking the request
        return CUT, False
    try:
        sock.sendall(health)
        again = _read_answer(sock)
    except (OSError, http.client.HTTPException):
        return BROKEN, False
    if again.status != 200:
        return BROKEN, False
    return KEPT, not again.will_close
