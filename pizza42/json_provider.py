"""JSON for the API: compact, and Decimal money as numbers (Flask's default makes them strings)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flask.json.provider import DefaultJSONProvider


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return DefaultJSONProvider.default(value)


class ApiJSONProvider(DefaultJSONProvider):
    """Flask's provider with Decimal support and without the pretty-printing cost."""

    compact = True
    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialise compactly; money values are already rounded to cents by the domain."""
        kwargs.setdefault("default", _default)
        kwargs.setdefault("separators", (",", ":"))
        return json.dumps(obj, **kwargs)
