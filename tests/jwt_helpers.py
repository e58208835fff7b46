"""Test helpers for signed tokens: an RSA signing key and a tiny local OpenID issuer over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from joserfc import jws, jwt
from joserfc.jwk import RSAKey


def b64url(data: bytes) -> str:
    """Base64url without padding, as JWS uses."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def compact(header: dict, claims: dict, signature: bytes = b"") -> str:
    """Assemble a compact JWS by hand (for tokens joserfc refuses to sign, like alg none)."""
    return ".".join([b64url(json.dumps(header).encode()), b64url(json.dumps(claims).encode()), b64url(signature)])


class RSAKeyFixture:
    """An RSA key pair that signs JWTs and publishes itself as a JWKS."""

    def __init__(self, kid: str | None = None, size: int = 2048) -> None:
        self.kid = kid or f"test-{uuid.uuid4().hex[:8]}"
        self.key = RSAKey.generate_key(size, parameters={"kid": self.kid}, private=True)

    @property
    def public_jwk(self) -> dict:
        """The public key as a JWK with kid, use and alg."""
        return {**self.key.as_dict(private=False), "use": "sig", "alg": "RS256"}

    @property
    def jwks(self) -> dict:
        """A JWKS publishing this key with its kid."""
        return {"keys": [self.public_jwk]}

    @property
    def jwks_without_kid(self) -> dict:
        """A JWKS publishing this key without a kid (like oidc-provider-mock)."""
        jwk = {k: v for k, v in self.public_jwk.items() if k != "kid"}
        return {"keys": [jwk]}

    @property
    def public_pem(self) -> bytes:
        """The public key in PEM, e.g. to forge an HS256 token using it as the HMAC secret."""
        return self.key.as_pem(private=False)

    def sign(self, claims: dict, headers: dict | None = None, alg: str = "RS256") -> str:
        """Sign `claims` with this key; the header carries this key's kid unless `headers` says otherwise.

        Pass `headers={"kid": None}` to omit the kid.
        """
        header = {"alg": alg, "kid": self.kid, **(headers or {})}
        header = {k: v for k, v in header.items() if v is not None}
        return jwt.encode(header, claims, self.key, algorithms=[header["alg"]])

    def sign_payload(self, payload: bytes, headers: dict | None = None) -> str:
        """RS256-sign arbitrary bytes under any header, by hand: joserfc refuses odd ones (bad `crit`)."""
        header = {"alg": "RS256", "kid": self.kid, **(headers or {})}
        unsigned = b64url(json.dumps(header).encode()) + "." + b64url(payload)
        signature = jws.JWSRegistry.algorithms["RS256"].sign(unsigned.encode("ascii"), self.key)
        return unsigned + "." + b64url(signature)

    def sign_hs256_with_public_pem(self, claims: dict, headers: dict | None = None) -> str:
        """The classic key-confusion forgery: HS256 with this key's public PEM as the HMAC secret."""
        header = {"alg": "HS256", "typ": "JWT", "kid": self.kid, **(headers or {})}
        unsigned = compact(header, claims).rsplit(".", 1)[0]
        signature = hmac.new(self.public_pem, unsigned.encode("ascii"), hashlib.sha256).digest()
        return unsigned + "." + b64url(signature)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (timeout tests) is expected, not worth a traceback


class LocalIssuer:
    """An OpenID issuer on 127.0.0.1 serving discovery and a swappable JWKS, counting fetches.

    `fail_with(500)` makes every endpoint answer that status, `serve_bad_json()` answers JSON that is not,
    `delay` slows every answer (for timeouts), and `stop()` closes the port. Use as a context manager.
    """

    def __init__(self, jwks: dict | None = None) -> None:
        self.jwks: dict = jwks if jwks is not None else {"keys": []}
        self.status = 200
        self.bad_json = False
        self.delay = 0.0
        self.jwks_fetches = 0
        self.discovery_fetches = 0
        self._count_lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.issuer = self.base_url  # no trailing slash, like oidc-provider-mock
        self.jwks_url = self.base_url + "/jwks"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def fail_with(self, status: int) -> None:
        """Answer every request with `status` (e.g. 500)."""
        self.status = status

    def serve_bad_json(self) -> None:
        """Answer 200 with a body that is not JSON."""
        self.bad_json = True

    def recover(self) -> None:
        """Serve normally again."""
        self.status, self.bad_json, self.delay = 200, False, 0.0

    def stop(self) -> None:
        """Stop serving and free the port (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> LocalIssuer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _answer(self, path: str) -> tuple[int, bytes]:
        with self._count_lock:
            if path == "/jwks":
                self.jwks_fetches += 1
            elif path == "/.well-known/openid-configuration":
                self.discovery_fetches += 1
        if self.delay:
            time.sleep(self.delay)
        if self.status != 200:
            return self.status, b'{"error": "server_error"}'
        if self.bad_json:
            return 200, b"<html>not json"
        if path == "/jwks":
            return 200, json.dumps(self.jwks).encode()
        if path == "/.well-known/openid-configuration":
            doc = {"issuer": self.issuer, "jwks_uri": self.jwks_url}
            return 200, json.dumps(doc).encode()
        return 404, b'{"error": "not_found"}'

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = issuer._answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
