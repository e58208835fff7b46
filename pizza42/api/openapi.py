"""The OpenAPI 3.1 document of the JSON API, served at GET /api/openapi.json.

The document is the JSON file beside this module (JSON, so production needs no YAML parser).
It is read and serialised once per process; tests/api/test_openapi.py keeps it honest against
the app's routes, the menu, and real responses.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import Response, current_app

DOCUMENT_PATH = Path(__file__).resolve().with_name("openapi.json")


@cache
def document() -> dict:
    """The OpenAPI document as a dict (read once; treat it as read-only)."""
    return json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))


@cache
def _document_bytes() -> bytes:
    return json.dumps(document(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def document_response() -> Response:
    """The document as an HTTP response (the same bytes every time; clients may cache it)."""
    response = current_app.response_class(_document_bytes(), mimetype="application/json")
    response.headers["Cache-Control"] = "public, max-age=3600"
    # Shared caches keep one copy per Origin: CORS headers are only on answers to cross-origin requests.
    response.headers["Vary"] = "Origin"
    return response
