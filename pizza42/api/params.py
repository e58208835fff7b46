"""Query parameters several API calls share."""

from __future__ import annotations

from flask import request

from pizza42.api.errors import ApiError
from pizza42.orders import service


def page_limit() -> int:
    """The `limit` query parameter: 1 to MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE when absent; 400 naming it otherwise."""
    raw = request.args.get("limit")
    if raw is None:
        return service.DEFAULT_PAGE_SIZE
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= service.MAX_PAGE_SIZE:
        raise ApiError(400, "invalid_limit", f"'limit' must be a whole number from 1 to {service.MAX_PAGE_SIZE}.",
                       field="limit")
    return int(raw)
