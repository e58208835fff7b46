"""JSON log lines on stdout with a request id: one access line per request, one audit line per order.

The request id and the access line are WSGI middleware (RequestLog) rather than Flask hooks: they see
every answer, and per request they cost a fraction of what a pair of hooks did. gunicorn's own access
log is off (gunicorn.conf.py): this line replaces it. The access line is also the request's CloudWatch
metrics document (Embedded Metric Format: metrics.py says what it holds and why this is not the
aws-embedded-metrics library). No log line carries a token, a secret, a cookie, a query string or a full
email address, and the access line no order id either (it is a metrics document).
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

import orjson
from flask import Flask, g, has_request_context, request

from pizza42.observability import metrics

audit_log = logging.getLogger("pizza42.audit")
access_log = logging.getLogger("pizza42.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# An order id in a path (/orders/<id>, /api/orders/<id>): masked in the access line, which is a metrics
# document and so must name no customer's data (the audit line has the ids of orders placed).
_ORDER_ID = re.compile(r"order_[A-Za-z0-9_]*")
REQUEST_ID_KEY = "pizza42.request_id"  # where RequestLog leaves the request id in the WSGI environ


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and structured fields."""

    _second: tuple[int, str] = (-1, "")  # the last second formatted, and its text (lines come in bursts)

    def _time(self, created: float) -> str:
        second = int(created)
        cached = self._second
        if cached[0] != second:
            cached = self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        return f"{cached[1]}.{int((created - second) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as JSON (exceptions as their type only: no tracebacks in the logs)."""
        line: dict[str, Any] = {
            "time": self._time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context() and REQUEST_ID_KEY in request.environ:
            line["request_id"] = request.environ[REQUEST_ID_KEY]
        line.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = record.exc_info[0].__name__
        return orjson.dumps(line, default=str).decode()


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
    # No log line here (nor gunicorn's) shows the caller's file and line or the thread's name: skip
    # collecting them for every record (the logging HOWTO's "Optimization" section).
    logging._srcfile = None
    logging.logThreads = False


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
            metrics.count("OrdersRefused")
            raise
        fields.update(_who(), **g.get("audit_order", {}))
        fields.setdefault("outcome", "refused")
        if fields["outcome"] in ("placed", "refused"):  # a replay is neither: the order was placed before
            metrics.count("OrdersPlaced" if fields["outcome"] == "placed" else "OrdersRefused")
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


class RequestLog:
    """WSGI middleware: a request id for every request (the client's if sane, else a new one), sent back
    as X-Request-ID, and one access line per answer, which carries the request's metrics (metrics.py).

    The path is logged without its query string (the login callback's carries the authorization code) and
    with order ids masked, and the client's address as forwarded.py believes it (never a header the client
    wrote itself).
    """

    def __init__(self, app: Callable[[dict, Callable], Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """Serve the request, then write its access line."""
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = environ[REQUEST_ID_KEY] = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(16)
        statuses: list[str] = []
        counts, token = metrics.start_request()

        def start(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Callable:
            statuses.append(status)
            # gunicorn's and nginx's access logs can print this header, so their lines and ours share the id.
            headers.append(("X-Request-ID", request_id))
            return start_response(status, headers, exc_info)

        try:
            body = self.app(environ, start)
        finally:
            metrics.end_request(token)
        method = environ.get("REQUEST_METHOD", "")
        # WSGI carries the path as latin-1 text of its bytes; log it as the UTF-8 the client sent.
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        if "order_" in path:
            path = _ORDER_ID.sub("{order_id}", path)
        status = int(statuses[-1][:3]) if statuses else 0
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        fields = {"method": method, "path": path, "status": status, "duration_ms": duration_ms,
                  "client_ip": environ.get("REMOTE_ADDR") or None, "request_id": request_id}
        fields.update(metrics.request_members(status, duration_ms, counts))
        # The message reads like a classic access line ("GET /api/orders 200 rid=…"): greppable, and what
        # tools that counted gunicorn's old lines by their " rid=" still find once per request.
        access_log.info("%s %s %s rid=%s", method, path, status, request_id, extra={"fields": fields})
        return body


def init_observability(app: Flask) -> None:
    """JSON logging, and request ids accepted (or made), attached to log lines and echoed back."""
    configure_logging()
    # Wrapped before forwarded.py's TrustedProxyFix (security.py), so REMOTE_ADDR is the believed client.
    app.wsgi_app = RequestLog(app.wsgi_app)  # type: ignore[method-assign]
