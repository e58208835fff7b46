"""Reading a JSON request body strictly: the right type, a sane size, real JSON."""

from __future__ import annotations

import json

from flask import request

from pizza42.api.errors import ApiError

MAX_BODY_BYTES = 16 * 1024
_IDEMPOTENCY_KEY_MAX = 255


def _reject_constant(name: str) -> None:
    # Python's json accepts NaN and Infinity; JSON does not, and neither do we.
    raise ValueError(f"{name} is not JSON")


def json_body() -> object:
    """The request's JSON document; 415 if it is not JSON, 413 if too big, 400 if malformed."""
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send the order as JSON with Content-Type: application/json.")
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise ApiError(413, "request_entity_too_large", f"The body must be at most {MAX_BODY_BYTES} bytes.")
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY_BYTES:  # chunked bodies have no Content-Length
        raise ApiError(413, "request_entity_too_large", f"The body must be at most {MAX_BODY_BYTES} bytes.")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "malformed_json", "The body is not valid JSON.") from None


def idempotency_key() -> str | None:
    """The Idempotency-Key header, if sent: 1–255 visible ASCII characters."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= _IDEMPOTENCY_KEY_MAX or not all(33 <= ord(c) <= 126 for c in key):
        raise ApiError(400, "invalid_idempotency_key",
                       "Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is ideal).",
                       field="Idempotency-Key")
    return key
