"""Web security for every response: headers, host checking, CORS on /api only, and which proxy to trust."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from urllib.parse import urlsplit

from flask import Flask, Response, request
from flask_cors import CORS
from werkzeug.exceptions import BadRequest
from werkzeug.sansio.utils import host_is_trusted

from pizza42.config import Settings
from pizza42.forwarded import TrustedProxyFix

# Paths the load balancer probes by instance IP: they must answer whatever the Host header says.
_HOST_CHECK_EXEMPT = frozenset({"/api/health"})
_API_CSP = "default-src 'none'; frame-ancestors 'none'"
_COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
_HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
_CSP = "Content-Security-Policy"


class SecurityHeaders:
    """WSGI middleware: the security headers on every answer, pages and API alike (errors too).

    Ours replace any of the same name, except the Content-Security-Policy, which a view may set itself.
    Appending to the WSGI header list costs a fraction of setting werkzeug headers one by one in a hook.
    """

    def __init__(self, app: Callable[[dict, Callable], Iterable[bytes]], page_policy: str) -> None:
        self.app = app
        self._replaced = {name.lower() for name in _COMMON_HEADERS} | {_HSTS[0].lower()}
        self._api = [*_COMMON_HEADERS.items(), (_CSP, _API_CSP)]
        self._pages = [*_COMMON_HEADERS.items(), (_CSP, page_policy)]

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """Serve the request; add the headers as the answer starts."""
        ours = self._api if environ.get("PATH_INFO", "").startswith("/api/") else self._pages
        if environ.get("wsgi.url_scheme") == "https":  # as believed by forwarded.py, which runs first
            ours = [*ours, _HSTS]

        def start(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Callable:
            kept = [(name, value) for name, value in headers if name.lower() not in self._replaced]
            if any(name.lower() == "content-security-policy" for name, _ in kept):
                kept.extend(header for header in ours if header[0] != _CSP)
            else:
                kept.extend(ours)
            return start_response(status, kept, exc_info)

        return self.app(environ, start)


def _only_for_cross_origin_requests(cors_hook: Callable[[Response], Response]) -> Callable[[Response], Response]:
    """flask-cors's after-request hook, skipped for requests without an Origin header.

    A request without Origin is not a CORS request: browsers send Origin on every cross-origin call.
    With always_send off, flask-cors adds nothing to such an answer, yet its hook cost more than our
    own view code on every API call from a server or mobile client.
    """

    @wraps(cors_hook)
    def hook(response: Response) -> Response:
        if "HTTP_ORIGIN" not in request.environ:
            return response
        return cors_hook(response)

    return hook


def page_csp(settings: Settings) -> str:
    """The pages' policy: nothing inline, nothing foreign; forms may post here and to the provider."""
    issuer = urlsplit(settings.auth0_issuer)
    provider = f"{issuer.scheme}://{issuer.netloc}"
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
            f"font-src 'self'; connect-src 'self'; form-action 'self' {provider}; frame-ancestors 'none'; "
            "base-uri 'none'; object-src 'none'")


def init_security(app: Flask, settings: Settings) -> None:
    """Security headers, host checking, and CORS for the SPA's origins (cookie flags: web/server_session.py)."""
    app.wsgi_app = SecurityHeaders(app.wsgi_app, page_csp(settings))  # type: ignore[method-assign]
    # Outermost: client address and scheme from X-Forwarded-* only when nginx or the load balancer sent them.
    app.wsgi_app = TrustedProxyFix(app.wsgi_app, settings.forwarded_allow_ips)  # type: ignore[method-assign]
    trusted = list(settings.trusted_hosts)

    @app.before_request
    def check_host() -> None:
        # Host-header injection would poison absolute URLs (redirect URIs); refuse unknown hosts.
        if trusted and request.path not in _HOST_CHECK_EXEMPT and not host_is_trusted(request.host, trusted):
            raise BadRequest("Unknown host.")

    if settings.cors_origins:
        # Only the SPA's origins, only /api, never '*' and never cookies: the API uses bearer tokens.
        CORS(app, resources={r"/api/*": {"origins": list(settings.cors_origins)}},
             # If-None-Match and ETag: an SPA's kitchen board refreshes with a conditional GET (304 when unchanged).
             allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-None-Match", "X-Request-ID"],
             expose_headers=["ETag", "Location", "Retry-After", "Idempotent-Replayed", "X-Request-ID"],
             methods=["GET", "POST", "OPTIONS"], supports_credentials=False, max_age=600,
             # Without an Origin there is no CORS request, so there is nothing to add to the answer
             # (the one publicly cacheable API answer, the OpenAPI document, says Vary: Origin itself).
             always_send=False)
        hooks = app.after_request_funcs[None]
        hooks[-1] = _only_for_cross_origin_requests(hooks[-1])  # the hook CORS() has just added
