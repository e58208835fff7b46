"""Static URLs carry their content hash, and a versioned URL may be cached for a year (the app's side)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from pizza42 import create_app
from pizza42.assets import content_versions
from pizza42.config import load_settings

STATIC = Path(__file__).resolve().parent.parent / "static"


def make_client():
    settings = load_settings({"SECRET_KEY": "test-secret-key-0123456789", "AUTH0_ISSUER": "https://i.pizza42.test/",
                              "AUTH0_CLIENT_ID": "web", "AUTH0_CLIENT_SECRET": "secret"})
    return create_app(settings, dynamodb_client=object()).test_client()


def test_pages_link_static_files_by_their_content_hash():
    page = make_client().get("/").get_data(as_text=True)
    links = dict(re.findall(r'/static/([\w.]+)\?v=([0-9a-f]+)"', page))
    assert {"style.css", "favicon.svg"} <= set(links)
    for name, version in links.items():
        assert version == hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def test_a_changed_file_gets_a_new_version(tmp_path):
    (tmp_path / "app.js").write_text("one")
    first = content_versions(tmp_path)["app.js"]
    (tmp_path / "app.js").write_text("two")
    assert content_versions(tmp_path)["app.js"] != first


def test_only_the_current_versioned_url_is_cached_for_a_year():
    client = make_client()
    version = content_versions(STATIC)["style.css"]
    assert client.get(f"/static/style.css?v={version}").headers["Cache-Control"] == "public, max-age=31536000"
    for stale in ("/static/style.css", "/static/style.css?v=0123456789ab"):
        assert client.get(stale).headers["Cache-Control"] == "no-cache"
