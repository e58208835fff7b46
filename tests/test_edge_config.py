"""The shipped edge files agree with each other and with the app: nginx, its site files, systemd, gunicorn."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pizza42 import create_app
from pizza42.config import ConfigError, load_settings
from pizza42.edge.cors import cors_origins, nginx_cors_map
from pizza42.observability import _REQUEST_ID
from pizza42.sandbox_nginx import MIME_TYPES, SERVERS, SITE_FILES, nginx_binary, self_signed_certificate
from tests.integration.edge import require_nginx
from tests.test_gunicorn_conf import load_conf

ROOT = Path(__file__).resolve().parent.parent
NGINX = ROOT / "deploy" / "nginx"
SERVER = {name: (NGINX / "servers" / f"{name}.conf").read_text() for name in SERVERS}
APP = (NGINX / "pizza42-app.conf").read_text()
# Everything shipped unchanged: the http context, what every server does, and both topologies' servers.
EDGE = (NGINX / "nginx.conf").read_text() + APP + "".join(SERVER.values())
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
    # The scheme the client used: nginx's own on the edge; behind the ALB always https (its HTTP listener
    # only redirects).
    assert forwarded["X-Forwarded-Proto"] == "$pizza42_client_scheme"
    assert directive(SERVER["edge"], "set") == ["$pizza42_client_scheme $scheme"]
    assert directive(SERVER["alb"], "set") == ["$pizza42_client_scheme https"]
    for name in ("X-Forwarded-Ssl", "X-Forwarded-Protocol", "X-Real-IP", "Forwarded"):
        assert forwarded[name] == '""'  # removed


def test_nginx_keeps_query_strings_out_of_its_access_log():
    [log_format] = re.findall(r"log_format pizza42 (.+?);", EDGE, re.S)
    assert "$uri" in log_format
    for leaky in ("$request ", '$request"', "$request_uri", "$args", "$query_string", "$http_referer",
                  "$http_cookie", "$http_authorization"):
        assert leaky not in log_format


@pytest.mark.parametrize("topology", SERVERS)
def test_nginx_accepts_the_production_site_files(tmp_path, topology):
    """`nginx -t` on the shipped files installed as the README says for one topology, with only the certificate
    and log paths pointed at temporary ones."""
    require_nginx()
    cert, key = self_signed_certificate(tmp_path, "production")
    replaced = {"main.conf": {"pid": tmp_path / "nginx.pid", "error_log": f"{tmp_path / 'error.log'} warn"},
                "http.conf": {"access_log": f"{tmp_path / 'access.log'} pizza42"},
                "https-server.conf": {"ssl_certificate": cert, "ssl_certificate_key": key}}
    (tmp_path / "pizza42").mkdir()
    (tmp_path / "pizza42-servers").mkdir()
    for name in ("nginx.conf", "pizza42-app.conf"):
        shutil.copyfile(NGINX / name, tmp_path / name)
    shutil.copyfile(NGINX / "servers" / f"{topology}.conf", tmp_path / "pizza42-servers" / f"{topology}.conf")
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


# --- CORS on nginx's own answers (issue 16) --------------------------------------------------------------

def _named_location(name: str) -> str:
    [body] = re.findall(rf"location {name} \{{(.*?)\n\}}", APP, re.S)
    return body


def test_every_answer_nginx_writes_under_the_api_carries_the_apps_cors_headers_and_never_a_wildcard():
    api_answers = re.findall(r"error_page [\d ]+ = (@api_\w+);", APP)
    assert set(api_answers) == {"@api_too_many_requests", "@api_too_large", "@api_unavailable"}
    for name in set(api_answers):
        headers = dict(re.findall(r"^\s*add_header (\S+) (\S+) always;", _named_location(name), re.M))
        assert headers["Access-Control-Allow-Origin"] == "$pizza42_cors_origin", name
        assert headers["Access-Control-Expose-Headers"] == "$pizza42_cors_expose", name
        assert headers["Vary"] == "$pizza42_cors_vary", name
    assert "Access-Control-Allow-Origin *" not in EDGE and '"*"' not in SITE["cors.conf"]


def test_nginx_exposes_the_headers_the_app_exposes():
    """An SPA reads the same headers (Retry-After above all) from nginx's answers as from the app's."""
    app = create_app(load_settings({"SECRET_KEY": "x" * 20, "AUTH0_DOMAIN": "t.auth0.com", "AUTH0_CLIENT_ID": "a",
                                    "AUTH0_CLIENT_SECRET": "b", "CORS_ORIGINS": "https://spa.example.com"}),
                     dynamodb_client=object())
    answer = app.test_client().get("/api/menu", headers={"Origin": "https://spa.example.com"})
    apps = {h.strip() for h in answer.headers["Access-Control-Expose-Headers"].split(",")}
    [expose] = re.findall(r"map \$pizza42_cors_origin \$pizza42_cors_expose \{.*?default\s+\"([^\"]+)\";", EDGE, re.S)
    assert {h.strip() for h in expose.split(",")} == apps
    assert answer.headers["Access-Control-Allow-Origin"] == "https://spa.example.com"


def test_the_cors_map_is_written_from_cors_origins_as_the_app_reads_it():
    env = {"CORS_ORIGINS": " https://spa.example.com/ ,http://localhost:3000"}
    assert cors_origins(env) == ("https://spa.example.com", "http://localhost:3000")
    text = nginx_cors_map(cors_origins(env))
    assert re.findall(r'^\s*"([^"]+)" \$http_origin;$', text, re.M) == ["https://spa.example.com",
                                                                         "http://localhost:3000"]
    assert re.search(r'^\s*default "";$', text, re.M)  # any other origin: no header at all
    with pytest.raises(ConfigError, match="'\\*' is not allowed"):
        cors_origins({"CORS_ORIGINS": "*"})
    with pytest.raises(ConfigError, match="bare origin"):
        nginx_cors_map(['https://a.example.com"; default $http_origin; "x'])  # nothing can escape the quotes


def test_the_cors_map_command_writes_the_file_nginx_includes(tmp_path):
    output = tmp_path / "cors.conf"
    done = subprocess.run([sys.executable, "-m", "pizza42.edge.cors", str(output)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={"PATH": os.environ["PATH"], "CORS_ORIGINS": "https://a.test"})
    assert done.returncode == 0, done.stderr
    assert output.read_text() == nginx_cors_map(("https://a.test",))
    refused = subprocess.run([sys.executable, "-m", "pizza42.edge.cors", str(output)], cwd=ROOT, capture_output=True,
                             text=True, timeout=60, env={"PATH": os.environ["PATH"], "CORS_ORIGINS": "*"})
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "CORS_ORIGINS" in refused.stderr
    assert output.read_text() == nginx_cors_map(("https://a.test",))  # the last good map is kept


def test_nginx_starts_only_after_writing_its_cors_map_where_nginx_conf_includes_it():
    assert "include pizza42/cors.conf;" in EDGE
    unit = (NGINX / "systemd" / "pizza42-nginx-cors.service").read_text()
    [command] = re.findall(r"^ExecStart=(.+)$", unit, re.M)
    assert command.endswith("-m pizza42.edge.cors /etc/nginx/pizza42/cors.conf")
    assert "EnvironmentFile=/etc/pizza42/pizza42.env" in unit  # the app's own environment file
    drop_in = (NGINX / "systemd" / "pizza42.conf").read_text()
    assert "Requires=pizza42-nginx-cors.service" in drop_in and "After=pizza42-nginx-cors.service" in drop_in


def test_cors_preflights_have_their_own_budget_larger_than_the_apis():
    """A client past the API's limit still gets its preflight through, so the browser shows it nginx's 429."""
    [api] = re.findall(r"zone=pizza42_api:\S+ rate=(\d+)r/s;", EDGE)
    [preflight] = re.findall(r"zone=pizza42_preflight:\S+ rate=(\d+)r/s;", EDGE)
    [api_burst] = re.findall(r"limit_req zone=pizza42_api burst=(\d+) nodelay;", EDGE)
    [preflight_burst] = re.findall(r"limit_req zone=pizza42_preflight burst=(\d+) nodelay;", EDGE)
    assert int(preflight) > int(api) and int(preflight_burst) > int(api_burst)


# --- The ALB topology: nginx on each instance, port 8080 (issue 16) ----------------------------------------

def test_behind_the_alb_nginx_serves_plain_http_on_8080_with_no_redirect_and_the_same_limits():
    alb = SERVER["alb"]
    assert directive(SITE["alb-server.conf"], "listen") == ["8080"]
    assert "ssl" not in re.sub(r"#.*", "", alb) and "return 301" not in alb
    assert directive(alb, "include") == ["pizza42/alb-server.conf", "pizza42-app.conf"]
    assert directive(SERVER["edge"], "include")[-1] == "pizza42-app.conf"  # the same limits, locations, answers


def test_behind_the_alb_the_client_address_is_believed_only_from_the_vpc():
    alb = SERVER["alb"]
    assert directive(alb, "real_ip_header") == ["X-Forwarded-For"]
    assert directive(alb, "real_ip_recursive") == ["off"]  # the last entry: the one the ALB appended
    assert directive(SITE["alb-server.conf"], "set_real_ip_from") == ["10.0.0.0/16"]
    assert "set_real_ip_from" not in re.sub(r"#.*", "", EDGE)  # nowhere else: the edge believes no header


def test_behind_the_alb_nginx_outlasts_the_albs_idle_timeout():
    [keepalive] = directive(SERVER["alb"], "keepalive_timeout")
    assert int(keepalive.rstrip("s")) > 60  # the ALB's default idle timeout: the ALB closes first
