"""App-wide error handling: JSON under /api, friendly pages elsewhere, never internals."""

from __future__ import annotations

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException

from pizza42.api.errors import handle_api_exception, log_unhandled
from pizza42.orders.errors import StorageUnavailable

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
    if isinstance(exc, StorageUnavailable):
        status = 503
    elif isinstance(exc, HTTPException):
        status = exc.code or 500
    else:
        log_unhandled(exc)
        status = 500
    headers = {"Retry-After": "5"} if status == 503 else {}
    page = render_template("error.html", status=status, title=_PAGE_TITLES.get(status, "Error"),
                           description=getattr(exc, "description", None) if status < 500 else None)
    return page, status, headers


def register_error_handlers(app: Flask) -> None:
    """Every exception goes through handle_exception."""
    app.register_error_handler(Exception, handle_exception)
