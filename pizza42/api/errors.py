"""Every API error is JSON `{"error", "message", ...}`; domain exceptions map to status codes here."""

from __future__ import annotations

import logging

from flask import Response, jsonify
from werkzeug.exceptions import HTTPException

from pizza42.auth.tokens import IdentityProviderUnavailable, TokenError
from pizza42.orders import lifecycle
from pizza42.orders.errors import (
    IdempotencyKeyReused,
    InvalidCursor,
    InvalidOrder,
    OrderNotFound,
    StatusConflict,
    StorageUnavailable,
    UnknownStatus,
)
from pizza42.sessions.store import SessionsUnavailable
from pizza42.shop.analytics import InvalidRange

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = "5"
REALM = 'Bearer realm="pizza42"'


class ApiError(Exception):
    """An error a view raises on purpose, with its status, code and message."""

    def __init__(self, status: int, error: str, message: str, headers: dict | None = None, **extra: object):
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.headers, self.extra = headers or {}, extra


def error_response(http_status: int, error: str, message: str, headers: dict | None = None,
                   **extra: object) -> Response:
    """A JSON error response; the only way API errors are written (`extra` may carry an order's `status`)."""
    response = jsonify({"error": error, "message": message, **extra})
    response.status_code = http_status
    response.headers.update(headers or {})
    return response


def _snake(name: str) -> str:
    return name.lower().replace(" ", "_").replace("'", "")


def _http_error(exc: HTTPException) -> Response:
    headers = {}
    if exc.code == 405 and exc.valid_methods:
        headers["Allow"] = ", ".join(exc.valid_methods)
    return error_response(exc.code or 500, _snake(exc.name), exc.description or exc.name, headers)


def _token_error(exc: TokenError) -> Response:
    # RFC 6750 §3: say why a token was refused, never echo the token.
    challenge = f'{REALM}, error="invalid_token", error_description="{exc.message}"'
    return error_response(401, "invalid_token", exc.message, {"WWW-Authenticate": challenge})


def _unavailable(what: str) -> Response:
    return error_response(503, "service_unavailable", f"{what} is unavailable right now; please retry shortly.",
                          {"Retry-After": RETRY_AFTER_SECONDS})


def handle_api_exception(exc: Exception) -> Response:
    """Turn any exception raised under /api into its JSON response."""
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.error, exc.message, exc.headers, **exc.extra)
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    if isinstance(exc, TokenError):
        return _token_error(exc)
    if isinstance(exc, InvalidOrder):
        return error_response(422, "invalid_order", exc.message, field=exc.field)
    if isinstance(exc, InvalidCursor):
        return error_response(400, "invalid_cursor", "'cursor' is not a cursor this API handed out", field="cursor")
    if isinstance(exc, OrderNotFound):
        return error_response(404, "not_found", "No such order.")
    if isinstance(exc, StatusConflict):
        # The order's status now: the client shows it instead of guessing (a lost race, a closed window).
        return error_response(409, "status_conflict", exc.reason, status=exc.status)
    if isinstance(exc, UnknownStatus):
        return error_response(422, "unknown_status", "'status' must be one of: "
                              + ", ".join(lifecycle.STATUSES), field="status")
    if isinstance(exc, InvalidRange):
        return error_response(400, "invalid_range", exc.message, field=exc.field)
    if isinstance(exc, IdempotencyKeyReused):
        return error_response(422, "idempotency_key_reused",
                              "This Idempotency-Key was already used for a different order.",
                              field="Idempotency-Key")
    if isinstance(exc, StorageUnavailable):
        return _unavailable("Order storage")
    if isinstance(exc, SessionsUnavailable):  # only /api/ready looks at the sessions table
        return _unavailable("Session storage")
    if isinstance(exc, IdentityProviderUnavailable):
        return _unavailable("Token verification")
    log_unhandled(exc)
    return error_response(500, "internal_error", "Something went wrong on our side.")


def log_unhandled(exc: Exception) -> None:
    """Log a bug's type and where it was raised, never the traceback's locals or messages."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb else "?"
    log.error("unhandled %s at %s", type(exc).__name__, where)

