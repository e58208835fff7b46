"""gunicorn.conf.py and the other deploy artifacts: behaviour under different environments.

The config is loaded in a fresh interpreter for each case, the way gunicorn loads it, with only
the environment the test gives it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.certs import write_self_signed_cert
from tests.iam_policies import CUSTOMER_INDEX_ARN, ORDERS_ARN, SESSIONS_ARN, SHOP_INDEX_ARNS, policy_grants

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "gunicorn.conf.py"
DEPLOY = ROOT / "deploy"

# Prints the settings the config file defines (plain values only, no helpers or modules).
LOAD_CONF = """
import json, runpy, sys
ns = runpy.run_path(sys.argv[1])
plain = (str, int, float, bool, list, type(None))
print(json.dumps({k: v for k, v in ns.items() if not k.startswith("_") and isinstance(v, plain)}))
"""


def run_conf(**env: str) -> subprocess.CompletedProcess:
    """Load gunicorn.conf.py with exactly `env` (plus PATH) as its environment."""
    return subprocess.run(
        [sys.executable, "-c", LOAD_CONF, str(CONF)],
        env={"PATH": os.environ.get("PATH", "")} | env,
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )


def load_conf(**env: str) -> dict:
    result = run_conf(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def refused(**env: str) -> str:
    """Load the config expecting it to refuse; return its one-line message."""
    result = run_conf(**env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # one clear line, not a traceback
    return lines[0]


def env_example() -> dict[str, str]:
    """The variables of deploy/pizza42.env.example, commented-out ones included (value '')."""
    variables = {}
    for line in (DEPLOY / "pizza42.env.example").read_text().splitlines():
        match = re.match(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if match:
            variables[match[2]] = "" if match[1] else match[3]
    return variables


# --- gunicorn.conf.py ------------------------------------------------------------------------


def test_defaults():
    conf = load_conf()
    assert conf["bind"] == ["0.0.0.0:8000"]
    assert conf["workers"] == max(2, len(os.sched_getaffinity(0)))  # one per core, measured (issue 9)
    assert conf["threads"] == 8
    assert conf["worker_class"] == "gthread"
    assert conf["preload_app"] is False
    assert (conf["timeout"], conf["graceful_timeout"], conf["keepalive"]) == (30, 20, 5)
    assert (conf["max_requests"], conf["max_requests_jitter"]) == (50000, 5000)
    assert (conf["accesslog"], conf["errorlog"]) == (None, "-")  # the app writes the access line
    assert conf["forwarded_allow_ips"] == "127.0.0.1"
    assert conf["limit_request_line"] > 0 and conf["limit_request_field_size"] > 0


def test_plain_http_when_no_tls_is_configured():
    conf = load_conf(TLS_CERTFILE="", TLS_KEYFILE="")
    assert "certfile" not in conf and "keyfile" not in conf


def test_port_sets_the_bind_address():
    assert load_conf(PORT="9000")["bind"] == ["0.0.0.0:9000"]


def test_bind_overrides_port_and_may_list_several_addresses():
    conf = load_conf(PORT="9000", BIND="127.0.0.1:8001, [::1]:8001")
    assert conf["bind"] == ["127.0.0.1:8001", "[::1]:8001"]


def test_process_and_proxy_settings_come_from_the_environment():
    conf = load_conf(WEB_CONCURRENCY="3", GUNICORN_THREADS="8", GUNICORN_KEEPALIVE="65",
                     FORWARDED_ALLOW_IPS="10.0.0.0/16")
    assert (conf["workers"], conf["threads"], conf["keepalive"]) == (3, 8, 65)
    assert conf["forwarded_allow_ips"] == "10.0.0.0/16"


@pytest.mark.parametrize("name, value", [
    ("WEB_CONCURRENCY", "many"), ("WEB_CONCURRENCY", "0"), ("GUNICORN_THREADS", "-1"),
    ("PORT", "http"), ("PORT", "70000"),
])
def test_a_malformed_number_stops_start_up_naming_the_variable(name, value):
    assert name in refused(**{name: value})


@pytest.mark.parametrize("only, missing", [("TLS_CERTFILE", "TLS_KEYFILE"), ("TLS_KEYFILE", "TLS_CERTFILE")])
def test_half_a_tls_configuration_is_refused(tmp_path, only, missing):
    cert, key = write_self_signed_cert(tmp_path)
    message = refused(**{only: str(cert if only == "TLS_CERTFILE" else key)})
    assert f"{only} is set but {missing} is not" in message


def test_a_missing_tls_file_is_refused(tmp_path):
    cert, _ = write_self_signed_cert(tmp_path)
    missing = tmp_path / "missing.key"
    message = refused(TLS_CERTFILE=str(cert), TLS_KEYFILE=str(missing))
    assert message.endswith(f"TLS_KEYFILE is set but {missing} does not exist")


def test_a_key_that_does_not_match_the_certificate_is_refused(tmp_path):
    cert, _ = write_self_signed_cert(tmp_path, "one")
    _, other_key = write_self_signed_cert(tmp_path, "two")
    assert "TLS_CERTFILE/TLS_KEYFILE" in refused(TLS_CERTFILE=str(cert), TLS_KEYFILE=str(other_key))


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file, so unreadable cannot be simulated")
def test_an_unreadable_tls_key_is_refused(tmp_path):
    cert, key = write_self_signed_cert(tmp_path)
    key.chmod(0)
    assert "TLS_KEYFILE is set but" in refused(TLS_CERTFILE=str(cert), TLS_KEYFILE=str(key))


def test_tls_files_are_used_when_both_exist(tmp_path):
    cert, key = write_self_signed_cert(tmp_path)
    conf = load_conf(TLS_CERTFILE=str(cert), TLS_KEYFILE=str(key))
    assert (conf["certfile"], conf["keyfile"]) == (str(cert), str(key))


def test_worker_timeout_outlasts_every_dynamodb_retry():
    example = env_example()
    timeouts = ("DYNAMODB_CONNECT_TIMEOUT", "DYNAMODB_READ_TIMEOUT", "DYNAMODB_MAX_ATTEMPTS", "AUTH0_HTTP_TIMEOUT")
    conf = load_conf(**{name: example[name] for name in timeouts})
    dynamodb_worst = (float(example["DYNAMODB_CONNECT_TIMEOUT"]) + float(example["DYNAMODB_READ_TIMEOUT"])) \
        * int(example["DYNAMODB_MAX_ATTEMPTS"])
    assert conf["timeout"] > dynamodb_worst
    # The grace period also covers fetching the discovery document and the JWKS first.
    assert conf["timeout"] > conf["graceful_timeout"] > dynamodb_worst + 2 * float(example["AUTH0_HTTP_TIMEOUT"])


def test_dynamodb_timeouts_longer_than_the_grace_period_are_refused():
    message = refused(DYNAMODB_READ_TIMEOUT="10")
    assert "graceful_timeout" in message and "DYNAMODB_" in message


# --- systemd unit and Procfile ---------------------------------------------------------------


def test_a_worker_freezes_what_it_built_at_start_and_still_collects_request_garbage():
    """post_worker_init hides the app's long-lived objects from the collector; new cycles still go."""
    probe = """
import gc, runpy, sys, weakref
ns = runpy.run_path(sys.argv[1])
app_state = [{"built": i} for i in range(5000)]  # what imports and the app factory leave behind
assert gc.get_freeze_count() == 0
ns["post_worker_init"](object())
frozen = gc.get_freeze_count()
class Node:
    pass
node = Node(); node.me = node  # a request's reference cycle
gone = weakref.ref(node); del node
gc.collect()
print(frozen, len(app_state), gone() is None)
"""
    result = subprocess.run([sys.executable, "-c", probe, str(CONF)], env={"PATH": os.environ.get("PATH", "")},
                            cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    frozen, kept, collected = result.stdout.split()
    assert int(frozen) >= 5000 and kept == "5000"
    assert collected == "True"


def test_procfile_and_systemd_unit_start_the_same_gunicorn_command():
    command = "gunicorn --config gunicorn.conf.py wsgi:app"
    assert (ROOT / "Procfile").read_text().strip() == f"web: {command}"
    unit = (DEPLOY / "pizza42.service").read_text()
    assert f"ExecStart=/opt/pizza42/.venv/bin/{command}\n" in unit


def test_systemd_waits_longer_than_gunicorns_graceful_shutdown():
    stop = re.search(r"^TimeoutStopSec=(\d+)$", (DEPLOY / "pizza42.service").read_text(), re.M)
    assert stop and int(stop[1]) > load_conf()["graceful_timeout"]


# --- environment example ---------------------------------------------------------------------


def test_env_example_lists_every_setting():
    spec_and_extras = {
        "SECRET_KEY", "SECRET_KEY_FALLBACKS", "AUTH0_DOMAIN", "AUTH0_ISSUER", "AUTH0_CLIENT_ID",
        "AUTH0_CLIENT_SECRET", "AUTH0_AUDIENCE", "AUTH0_SPA_CLIENT_IDS", "API_ORDER_SCOPE", "AWS_REGION",
        "DYNAMODB_TABLE_NAME", "DYNAMODB_ENDPOINT_URL", "CORS_ORIGINS", "APP_BASE_URL", "TRUSTED_HOSTS",
        "DYNAMODB_CONNECT_TIMEOUT", "DYNAMODB_READ_TIMEOUT", "DYNAMODB_MAX_ATTEMPTS", "AUTH0_HTTP_TIMEOUT",
        "PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS", "FORWARDED_ALLOW_IPS", "TLS_CERTFILE", "TLS_KEYFILE",
    }
    assert spec_and_extras <= set(env_example())


def test_env_example_carries_no_secrets_and_no_aws_keys():
    example = env_example()
    assert example["SECRET_KEY"] == "" and example["AUTH0_CLIENT_SECRET"] == ""
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} & set(example)


def test_env_example_does_not_set_web_concurrency_empty():
    # gunicorn reads WEB_CONCURRENCY itself, at import, and crashes on an empty value.
    text = (DEPLOY / "pizza42.env.example").read_text()
    assert not re.search(r"^WEB_CONCURRENCY=\s*$", text, re.M)


# --- IAM policies ----------------------------------------------------------------------------


def test_instance_policy_allows_exactly_what_the_app_calls():
    # TransactWriteItems has no IAM action of its own: its Put, Update and Delete entries need PutItem,
    # UpdateItem and DeleteItem (ConditionCheckItem only if a store ever adds a ConditionCheck entry).
    # tests/web/test_least_privilege.py checks these against the calls the app really makes.
    assert policy_grants("iam-policy.json") == {
        *((f"dynamodb:{a}", ORDERS_ARN) for a in ("GetItem", "Query", "PutItem", "UpdateItem", "DescribeTable")),
        *((f"dynamodb:{a}", SESSIONS_ARN) for a in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "DescribeTable")),
        ("dynamodb:Query", CUSTOMER_INDEX_ARN),
        *(("dynamodb:Query", index) for index in SHOP_INDEX_ARNS),  # the kitchen's queue and day view
    }


@pytest.mark.parametrize("name", ["iam-policy.json", "iam-policy-admin.json"])
def test_no_policy_uses_wildcards_or_deletes_anything_but_sessions(name):
    for action, resource in policy_grants(name):
        assert "*" not in action and "*" not in resource
        assert resource in (ORDERS_ARN, SESSIONS_ARN, CUSTOMER_INDEX_ARN, *SHOP_INDEX_ARNS)
        if action.startswith("dynamodb:Delete"):  # never an order, never a table: a logged-out session only
            assert (action, resource) == ("dynamodb:DeleteItem", SESSIONS_ARN)


def test_admin_only_actions_are_not_in_the_instance_policy():
    instance = {action for action, _ in policy_grants("iam-policy.json")}
    admin_only = {"dynamodb:Scan", "dynamodb:CreateTable", "dynamodb:UpdateTimeToLive", "dynamodb:DescribeTimeToLive"}
    assert not instance & admin_only
    admin = policy_grants("iam-policy-admin.json")
    for table in (ORDERS_ARN, SESSIONS_ARN):  # create-table makes both
        assert {(action, table) for action in admin_only - {"dynamodb:Scan"}} <= admin
