"""The wire under direct.py: one keep-alive HTTP connection, and SigV4 with a cached signing key.

Both exist only because botocore's general machinery costs more than the call it makes; each mirrors
what botocore does, and tests/test_dynamodb_direct*.py check it against botocore (the signature against
SigV4Auth's for the same request and instant; failures against botocore's exception classes). Answers
are parsed by httptools (llhttp, the parser uvicorn uses): http.client's email-based header parsing
cost more than everything else here together.
"""

from __future__ import annotations

import hashlib
import hmac
import select
import socket
import ssl
import threading
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httptools
from botocore.awsrequest import HeadersDict
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
    SSLError,
)

_RECV_SIZE = 65536


class WireResponse:
    """What botocore's retry checkers and error parser read of an HTTP answer."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: HeadersDict, content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content


class KeepAliveConnection:
    """One keep-alive connection to the endpoint (each thread has its own): send a request, read its answer."""

    def __init__(self, url: str, connect_timeout: float, read_timeout: float, tls: ssl.SSLContext | None) -> None:
        parts = urlsplit(url)
        self.url = url
        self._address = (parts.hostname, parts.port or (443 if tls else 80))
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._tls = tls
        self._sock: socket.socket | None = None

    def close(self) -> None:
        """Close the connection; the next exchange opens a new one."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _dropped(self) -> bool:
        # An idle keep-alive socket that is readable was closed by the server (EOF) or holds junk.
        poller = select.poll()
        poller.register(self._sock, select.POLLIN)
        return bool(poller.poll(0))

    def _connect(self) -> socket.socket:
        """TCP (and TLS) within the connect timeout, as botocore reports each failure."""
        sock = None
        try:
            sock = socket.create_connection(self._address, timeout=self._connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)  # as botocore's tcp_keepalive=True
            if self._tls is not None:  # the certificate is checked against the CA bundle and host name
                sock = self._tls.wrap_socket(sock, server_hostname=self._address[0])
        except TimeoutError as exc:
            self._discard(sock)
            raise ConnectTimeoutError(endpoint_url=self.url, error=exc) from exc
        except ssl.SSLError as exc:
            self._discard(sock)
            raise SSLError(endpoint_url=self.url, error=exc) from exc
        except OSError as exc:  # refused, unreachable, name not resolved
            self._discard(sock)
            raise EndpointConnectionError(endpoint_url=self.url, error=exc) from exc
        sock.settimeout(self._read_timeout)
        return sock

    @staticmethod
    def _discard(sock: socket.socket | None) -> None:
        if sock is not None:
            sock.close()

    def exchange(self, request: bytes) -> WireResponse:
        """Send one whole request in one write and read its answer; botocore's exceptions on failure."""
        if self._sock is not None and self._dropped():
            self.close()  # reconnect rather than fail a request on a connection the server has closed
        if self._sock is None:
            self._sock = self._connect()
        answer = _Answer()
        parser = answer.parser = httptools.HttpResponseParser(answer)
        try:
            self._sock.sendall(request)
            while not answer.complete:
                data = self._sock.recv(_RECV_SIZE)
                if not data:  # closed before a whole answer (or any) arrived
                    raise ConnectionResetError("the connection closed before the answer was complete")
                parser.feed_data(data)
        except TimeoutError as exc:
            self.close()
            raise ReadTimeoutError(endpoint_url=self.url, error=exc) from exc
        except ssl.SSLError as exc:
            self.close()
            raise SSLError(endpoint_url=self.url, error=exc) from exc
        except ConnectionError as exc:  # reset, broken pipe, closed early
            self.close()
            raise ConnectionClosedError(endpoint_url=self.url, error=exc) from exc
        except (OSError, httptools.HttpParserError) as exc:
            self.close()
            raise HTTPClientError(error=exc) from exc
        finally:
            answer.parser = None  # the parser holds the answer's callbacks: no cycle left for the collector
        if not answer.keep_alive:
            self.close()
        return WireResponse(answer.status, HeadersDict(answer.headers), b"".join(answer.body))


class _Answer:
    """Collects one HTTP answer from httptools' parser callbacks."""

    __slots__ = ("body", "complete", "headers", "keep_alive", "parser", "status")

    def __init__(self) -> None:
        self.parser: httptools.HttpResponseParser | None = None
        self.headers: list[tuple[str, str]] = []
        self.body: list[bytes] = []
        self.status = 0
        self.keep_alive = False
        self.complete = False

    def on_header(self, name: bytes, value: bytes) -> None:
        """One header line, as text."""
        self.headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        """The status and whether the connection stays open are known once the headers are."""
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        """A piece of the body (a whole Content-Length body, or a chunk)."""
        self.body.append(body)

    def on_message_complete(self) -> None:
        """The answer is complete; whatever follows belongs to nobody (one request at a time)."""
        self.complete = True


class SigV4Signer:
    """AWS Signature Version 4 for DynamoDB's JSON calls (POST /), the signing key derived once a day.

    SigV4Auth derives the key (four HMACs) and rebuilds the canonical request generically on every
    call; for one fixed request shape only the date, the body hash and the final HMAC change.
    """

    SERVICE = "dynamodb"

    def __init__(self, region: str) -> None:
        self._region = region
        self._lock = threading.Lock()
        self._key: tuple[str, str, bytes] | None = None  # (secret key, date, signing key)

    def _signing_key(self, secret_key: str, date: str) -> bytes:
        cached = self._key
        if cached is not None and cached[0] == secret_key and cached[1] == date:
            return cached[2]
        key = ("AWS4" + secret_key).encode()
        for part in (date, self._region, self.SERVICE, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        with self._lock:
            self._key = (secret_key, date, key)
        return key

    def headers(self, credentials: ReadOnlyCredentials, host: str, target: str, content_type: str, body: bytes,
                now: datetime | None = None) -> list[tuple[str, str]]:
        """The request's headers, signed: Host, Content-Type, X-Amz-Target, X-Amz-Date, [token], Authorization."""
        moment = now or datetime.now(UTC)
        amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
        date = amz_date[:8]
        signed = [("content-type", content_type), ("host", host), ("x-amz-date", amz_date)]
        if credentials.token:
            signed.append(("x-amz-security-token", credentials.token))
        signed.append(("x-amz-target", target))  # names in sorted order, as SigV4 wants them
        names = ";".join(name for name, _ in signed)
        canonical = "POST\n/\n\n{}\n\n{}\n{}".format(
            "\n".join(f"{name}:{' '.join(value.split())}" for name, value in signed), names,
            hashlib.sha256(body).hexdigest())
        scope = f"{date}/{self._region}/{self.SERVICE}/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(self._signing_key(credentials.secret_key, date), to_sign.encode(),
                             hashlib.sha256).hexdigest()
        authorization = (f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
                         f"SignedHeaders={names}, Signature={signature}")
        headers = [("Host", host), ("Content-Type", content_type), ("X-Amz-Target", target), ("X-Amz-Date", amz_date)]
        if credentials.token:
            headers.append(("X-Amz-Security-Token", credentials.token))
        headers.append(("Authorization", authorization))
        return headers
