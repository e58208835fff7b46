"""Cache-busting static URLs: url_for('static', filename=...) carries ?v=<content hash>.

The edge (deploy/nginx/) lets browsers cache a versioned static URL for a year, and so does the app when
it serves static files itself (behind an ALB): a new deploy changes the hash, so pages point at new URLs
and nobody keeps a stale stylesheet or script.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, request

VERSION_ARG = "v"
A_YEAR = 365 * 24 * 3600


def content_versions(folder: Path) -> dict[str, str]:
    """A short content hash for every file under the static folder, by its URL filename."""
    versions = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            versions[path.relative_to(folder).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return versions


def init_assets(app: Flask) -> None:
    """Hash the static files once at start-up and add their hash to every static URL the app builds."""
    versions = content_versions(Path(app.static_folder)) if app.static_folder else {}

    @app.url_defaults
    def add_static_version(endpoint: str, values: dict) -> None:
        if endpoint == "static" and VERSION_ARG not in values:
            version = versions.get(values.get("filename", ""))
            if version:
                values[VERSION_ARG] = version

    def max_age(filename: str | None) -> int | None:
        # A year only for the current version's URL; otherwise Flask's default (revalidate each time).
        version = versions.get(filename or "")
        if version is not None and request.args.get(VERSION_ARG) == version:
            return A_YEAR
        return None

    app.get_send_file_max_age = max_age  # type: ignore[method-assign]
