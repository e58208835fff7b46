"""The shipped edge files agree with each other and with the app: nginx, its site files, systemd, gunicorn."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pizza42 import create_app
from pizza42.config import load_settings
from pizza42.observability import _REQUEST_ID
from pizza42.sandbox_nginx import MIME_TYPES, SITE_FILES, nginx_binary, self_signed_certificate
from tests.integration.edge import require_nginx
from tests.test_gunicorn_conf import load_conf

ROOT = Path(__file__).resolve().parent.parent
NGINX = ROOT / "deploy" / "nginx"
EDGE = (NGINX / "nginx.conf").read_text()
SITE = {name: (NGINX / "pizza42" / name).read_text() for name in SITE_FILES}
SOCKET_UNIT = (ROOT / "deploy" / "pizza42.socket").read_text()


def directive(text: str, name: str) -> list[str]:
    """The values of every `name value;` line in an nginx file (comments ignored)."""
    return re.findall(rf"^\s*{name}\s+([^;#]+);", text, re.M)


def test_nginx_refuses_bodies_above_the_apps_own_limit_and_no_lower():
    app = create_app(load_settings({"SECRET_KEY": "x" * 20, "AUTH0_DOMAIN": "t.auth0.com",
                                    "AUTH0_CLIENT_ID": "a", "AUTH0_CLIENT_SECRET": "b"}), dynamodb_client=object())
    [size] = directive(EDGE, "client_max_body_size")
    assert size == "64k" and 64 * 1024 == app.config["MAX_CONTENT_LENGTH"]
    assert f"at most {64 * 1024} bytes" in EDGE  # what its own 413 says


def test_nginx_waits_for_gunicorn_longer_than_the_app_may_take():
    conf = load_conf()
    [read] = directive(EDGE, "proxy_read_timeout")
    assert int(read.rstrip("s")) >= conf["timeout"] > conf["graceful_timeout"]


def test_nginx_connects_to_the_socket_systemd_opens_and_only_its_group_may():
    [listen] = re.findall(r"^ListenStream=(.+)$", SOCKET_UNIT, re.M)
    assert directive(SITE["upstream.conf"], "server") == [f"unix:{listen}"]
    # Not under /run/pizza42: RuntimeDirectoryMode=0700 keeps nginx out of that directory.
    assert not listen.startswith("/run/pizza42/")
    assert "RuntimeDirectoryMode=0700" in (ROOT / "deploy" / "pizza42.service").read_text()
    [mode] = re.findall(r"^SocketMode=(\d+)$", SOCKET_UNIT, re.M)
    assert mode == "0660"
    [group] = re.findall(r"^SocketGroup=(.+)$", SOCKET_UNIT, re.M)
    assert directive(SITE["main.conf"], "user") == [group]  # nginx's workers run in that group


def test_nginx_passes_on_request_ids_the_app_accepts():
    [pattern] = re.findall(r'"~(\^[^"]+\$)"\s+\$http_x_request_id;', EDGE)
    assert pattern == _REQUEST_ID.pattern


def test_nginx_overwrites_every_forwarding_header_a_client_could_send():
    forwarded = dict(re.findall(r"^\s*proxy_set_header\s+(\S+)\s+(\S+);", EDGE, re.M))
    assert forwarded["X-Forwarded-For"] == "$remote_addr"  # the edge: overwrite, never append
    assert forwarded["X-Forwarded-Proto"] == "$scheme"
    for name in ("X-Forwarded-Ssl", "X-Forwarded-Protocol", "X-Real-IP", "Forwarded"):
        assert forwarded[name] == '""'  # removed


def test_nginx_keeps_query_strings_out_of_its_access_log():
    [log_format] = re.findall(r"log_format pizza42 (.+?);", EDGE, re.S)
    assert "$uri" in log_format
    for leaky in ("$request ", '$request"', "$request_uri", "$args", "$query_string", "$http_referer",
                  "$http_cookie", "$http_authorization"):
        assert leaky not in log_format


def test_nginx_accepts_the_production_site_files(tmp_path):
    """`nginx -t` on the shipped files, with only the certificate and log paths pointed at temporary ones."""
    require_nginx()
    cert, key = self_signed_certificate(tmp_path, "production")
    replaced = {"main.conf": {"pid": tmp_path / "nginx.pid", "error_log": f"{tmp_path / 'error.log'} warn"},
                "http.conf": {"access_log": f"{tmp_path / 'access.log'} pizza42"},
                "https-server.conf": {"ssl_certificate": cert, "ssl_certificate_key": key}}
    (tmp_path / "pizza42").mkdir()
    shutil.copyfile(NGINX / "nginx.conf", tmp_path / "nginx.conf")
    shutil.copyfile(MIME_TYPES, tmp_path / "mime.types")
    for name, text in SITE.items():
        for key_name, value in replaced.get(name, {}).items():
            text, count = re.subn(rf"^{key_name}\s+[^;]+;", f"{key_name} {value};", text, flags=re.M)
            assert count == 1, (name, key_name)
        (tmp_path / "pizza42" / name).write_text(text)
    if os.geteuid() != 0:
        pytest.skip("nginx -t on the production files needs root (they name the www-data user)")
    check = subprocess.run([nginx_binary(), "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                            "-e", "stderr"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr


def test_the_documented_rate_limits_are_nginxs():
    [api_rate] = re.findall(r"zone=pizza42_api:\S+ rate=(\d+)r/s;", EDGE)
    [api_burst] = re.findall(r"limit_req zone=pizza42_api burst=(\d+) nodelay;", EDGE)
    [login_rate] = re.findall(r"zone=pizza42_login:\S+ rate=(\d+)r/m;", EDGE)
    assert set(re.findall(r"limit_req zone=pizza42_login burst=(\d+) nodelay;", EDGE)) == {"20"}
    api_doc = f"{api_rate} requests/s with bursts of {api_burst} more"
    openapi = json.loads((ROOT / "pizza42" / "api" / "openapi.json").read_text())["info"]["description"]
    readme = (ROOT / "README.md").read_text()
    assert api_doc in openapi and api_doc in readme
    assert f"{login_rate}/min with bursts of 20 more" in readme
