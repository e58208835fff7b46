"""JSON log lines on stdout with a request id: one access line per request, one audit line per order.

No log line carries a token, a secret, a cookie, a query string or a full email address.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Response, g, has_request_context, request

audit_log = logging.getLogger("pizza42.audit")
access_log = logging.getLogger("pizza42.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as JSON (exceptions as their type only: no tracebacks in the logs)."""
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context() and "request_id" in g:
            line["request_id"] = g.request_id
        line.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = record.exc_info[0].__name__
        return json.dumps(line, default=str)


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is at the time (so redirections and test capture see it)."""

    @property
    def stream(self) -> Any:  # type: ignore[override]
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(level: int = logging.INFO) -> None:
    """Send the app's loggers to stdout as JSON (once per process)."""
    logger = logging.getLogger("pizza42")
    if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        return
    handler = _StdoutHandler()
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def mask_email(email: str | None) -> str | None:
    """`v***@pizza42.test`: enough to recognise, not enough to harvest."""
    if not email or "@" not in email:
        return None
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def _key_digest(key: str | None) -> str | None:
    return hashlib.sha256(key.encode()).hexdigest()[:16] if key else None


def audit_order_attempt(view: Callable) -> Callable:
    """Decorate an order-placing view: log who tried, which order, and the outcome — whatever happens."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        fields: dict[str, Any] = {"event": "order", "channel": "api" if request.path.startswith("/api/") else "web",
                                  "idempotency_key": _key_digest(request.headers.get("Idempotency-Key"))}
        try:
            response = view(*args, **kwargs)
        except Exception as exc:
            fields.update(outcome="refused", reason=type(exc).__name__, **_who())
            for attribute in ("field", "error"):
                if getattr(exc, attribute, None):
                    fields[attribute] = getattr(exc, attribute)
            audit_log.info("order refused", extra={"fields": fields})
            raise
        fields.update(_who(), **g.get("audit_order", {}))
        fields.setdefault("outcome", "refused")
        audit_log.info(f"order {fields['outcome']}", extra={"fields": fields})
        return response

    return wrapper


def _who() -> dict[str, Any]:
    who = g.get("audit_who", {})
    return {"user_id": who.get("user_id"), "email": mask_email(who.get("email"))}


def record_order_outcome(user_id: str, email: str | None, order_id: str | None, outcome: str,
                         reason: str | None = None) -> None:
    """Tell the audit line who ordered what, or why not (views call this after place_order)."""
    g.audit_who = {"user_id": user_id, "email": email}
    g.audit_order = {"order_id": order_id, "outcome": outcome, **({"reason": reason} if reason else {})}


def record_customer(user_id: str, email: str | None) -> None:
    """Tell the audit line who is asking, before the order is tried (so refusals name them too)."""
    g.audit_who = {"user_id": user_id, "email": email}


def _start_request() -> None:
    g.request_started = time.perf_counter()
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex


def _finish_request(response: Response) -> Response:
    # gunicorn's and nginx's access logs print this header, so their lines and ours share the id.
    response.headers["X-Request-ID"] = g.get("request_id", "")
    # The access line: the path without its query string (the login callback's carries the
    # authorization code), and the client's address as forwarded.py believes it (never a header
    # the client wrote itself).
    started = g.get("request_started")
    duration = round((time.perf_counter() - started) * 1000, 2) if started is not None else None
    access_log.info("%s %s %s", request.method, request.path, response.status_code, extra={"fields": {
        "method": request.method, "path": request.path, "status": response.status_code,
        "duration_ms": duration, "client_ip": request.remote_addr or None}})
    return response


def init_observability(app: Flask) -> None:
    """JSON logging, and request ids accepted (or made), attached to log lines and echoed back."""
    configure_logging()
    app.before_request(_start_request)
    app.after_request(_finish_request)
