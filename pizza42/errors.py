"""App-wide error handling: JSON under /api, friendly pages elsewhere, never internals."""

from __future__ import annotations

import logging

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from pizza42.api.errors import handle_api_exception, log_unhandled
from pizza42.orders.errors import StorageUnavailable
from pizza42.sessions.store import SessionsUnavailable

log = logging.getLogger(__name__)

_PAGE_TITLES = {400: "Bad request", 403: "Not allowed", 404: "Page not found", 405: "Not allowed",
                413: "Too large", 500: "Something went wrong", 503: "Please try again shortly"}


def _is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def handle_exception(exc: Exception) -> Response | tuple[str, int, dict] | HTTPException:
    """Route an exception to the API's JSON answer or to an error page."""
    if _is_api_request():
        return handle_api_exception(exc)
    if isinstance(exc, HTTPException) and exc.code and exc.code < 400:
        return exc  # redirects raised as exceptions (e.g. routing's trailing slash)
    if isinstance(exc, StorageUnavailable | SessionsUnavailable):
        status = 503  # never a 500, and never a redirect to log in: the customer's session may be fine
    elif isinstance(exc, HTTPException):
        status = exc.code or 500
    else:
        log_unhandled(exc)
        status = 500
    headers = {"Retry-After": "5"} if status == 503 else {}
    page = render_template("error.html", status=status, title=_PAGE_TITLES.get(status, "Error"),
                           description=getattr(exc, "description", None) if status < 500 else None)
    return page, status, headers


def csrf_failed(exc: CSRFError) -> tuple[str, int]:
    """A form POST without a valid CSRF token (only pages have forms: the API is exempt)."""
    log.info("csrf check failed: %s", exc.description)
    page = render_template("error.html", status=400, title="This form has expired",
                           description="For your safety we only accept forms that this site has just shown you. "
                                       "Nothing was saved. Go back, reload the page and try again.")
    return page, 400


def register_error_handlers(app: Flask) -> None:
    """Every exception goes through handle_exception; a failed CSRF check gets its own page."""
    app.register_error_handler(CSRFError, csrf_failed)
    app.register_error_handler(Exception, handle_exception)
