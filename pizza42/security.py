"""Web security for every response: headers, host checking, CORS on /api only, and which proxy to trust."""

from __future__ import annotations

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


def page_csp(settings: Settings) -> str:
    """The pages' policy: nothing inline, nothing foreign; forms may post here and to the provider."""
    issuer = urlsplit(settings.auth0_issuer)
    provider = f"{issuer.scheme}://{issuer.netloc}"
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
            f"font-src 'self'; connect-src 'self'; form-action 'self' {provider}; frame-ancestors 'none'; "
            "base-uri 'none'; object-src 'none'")


def init_security(app: Flask, settings: Settings) -> None:
    """Security headers, host checking, and CORS for the SPA's origins (cookie flags: web/server_session.py)."""
    # Client address and scheme from X-Forwarded-* only when nginx or the load balancer sent them.
    app.wsgi_app = TrustedProxyFix(app.wsgi_app, settings.forwarded_allow_ips)  # type: ignore[method-assign]
    csp = page_csp(settings)
    trusted = list(settings.trusted_hosts)

    @app.before_request
    def check_host() -> None:
        # Host-header injection would poison absolute URLs (redirect URIs); refuse unknown hosts.
        if trusted and request.path not in _HOST_CHECK_EXEMPT and not host_is_trusted(request.host, trusted):
            raise BadRequest("Unknown host.")

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        is_api = request.path.startswith("/api/")
        response.headers.update(_COMMON_HEADERS)
        response.headers.setdefault("Content-Security-Policy", _API_CSP if is_api else csp)
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        return response

    if settings.cors_origins:
        # Only the SPA's origins, only /api, never '*' and never cookies: the API uses bearer tokens.
        CORS(app, resources={r"/api/*": {"origins": list(settings.cors_origins)}},
             allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
             expose_headers=["Location", "Retry-After", "Idempotent-Replayed", "X-Request-ID"],
             methods=["GET", "POST", "OPTIONS"], supports_credentials=False, max_age=600)
