"""JSON for the API: compact, Decimal money as numbers, written by orjson.

Encoding a history page with the standard library cost about as much as the rest of the view; orjson
writes the same JSON (UTF-8 rather than \\u escapes) several times faster. Request bodies are still
read by the standard library (pizza42/api/body.py), whose error cases the API documents.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # money is rounded to cents by the domain before it gets here
    return DefaultJSONProvider.default(value)


def dumps_bytes(obj: Any, option: int = 0) -> bytes:
    """Compact JSON as UTF-8 bytes (Decimal as a number)."""
    try:
        return orjson.dumps(obj, default=_default, option=option)
    except TypeError:
        # orjson refuses what JSON can only carry as escapes (a lone surrogate from a client's string):
        # the standard library writes those, so an odd string never becomes a 500.
        text = json.dumps(obj, default=_default, separators=(",", ":"))
        return (text + "\n" if option & orjson.OPT_APPEND_NEWLINE else text).encode()


class ApiJSONProvider(DefaultJSONProvider):
    """Flask's provider with Decimal support, compact output and orjson's speed."""

    compact = True
    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialise compactly; with options (e.g. from a template filter) through the standard library."""
        if kwargs:
            kwargs.setdefault("default", _default)
            return json.dumps(obj, **kwargs)
        return dumps_bytes(obj).decode()

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """A JSON response (what `jsonify` returns), encoded once, straight to bytes."""
        body = dumps_bytes(self._prepare_response_obj(args, kwargs), orjson.OPT_APPEND_NEWLINE)
        return self._app.response_class(body, mimetype=self.mimetype)
