"""The app as an operator runs it: `gunicorn --config gunicorn.conf.py wsgi:app`, configured by environment only.

Over real HTTP (and HTTPS), against moto's DynamoDB emulator in its own process and a local issuer:
the API contract end to end, the operator commands, start-up refusals, TLS, and the logs.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from decimal import Decimal

import pytest
import requests

from tests.certs import write_self_signed_cert
from tests.integration.harness import (
    JWT_PATTERN,
    PRICES,
    SECRET_KEY,
    SESSIONS_TABLE,
    TABLE,
    new_customer,
    post_order,
    price,
    run_flask,
    wait_for,
)

pytestmark = pytest.mark.slow


def test_create_table_creates_the_tables_once_and_is_then_a_no_op(create_table_runs, dynamodb):
    first, second = create_table_runs
    assert first.stdout.splitlines() == [f"created table {TABLE}", f"created table {SESSIONS_TABLE}"]
    assert second.stdout.splitlines() == [f"table {TABLE} already exists (its indexes are in place)",
                                          f"table {SESSIONS_TABLE} already exists (its indexes are in place)"]
    table = dynamodb.describe_table(TableName=TABLE)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]} == {("user_id", "HASH"),
                                                                                 ("order_id", "RANGE")}
    assert sorted(index["IndexName"] for index in table["GlobalSecondaryIndexes"]) == ["by-day", "open-orders"]
    sessions = dynamodb.describe_table(TableName=SESSIONS_TABLE)["Table"]
    assert sessions["KeySchema"] == [{"AttributeName": "id_hash", "KeyType": "HASH"}]
    assert [index["IndexName"] for index in sessions["GlobalSecondaryIndexes"]] == ["by-customer"]
    for name in (TABLE, SESSIONS_TABLE):
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def _put_legacy_order(dynamodb, user_id: str, millis: int, pizza: str, size: str, total: str) -> None:
    """An order exactly as the original Express backend wrote it (no quantity, no summary)."""
    dynamodb.put_item(TableName=TABLE, Item={
        "user_id": {"S": user_id}, "order_id": {"S": f"order_{millis}"}, "pizza": {"S": pizza},
        "size": {"S": size}, "total": {"N": total}, "user_email": {"S": "legacy@example.com"},
        "status": {"S": "confirmed"}, "created_at": {"S": "2025-03-01T12:00:00.000Z"}})


def test_rebuild_profiles_builds_summaries_for_customers_who_predate_them(app_env, app_server, dynamodb, auth):
    legacy = new_customer()
    _put_legacy_order(dynamodb, legacy, 1740830400000, "Pepperoni", "large", "22.99")
    _put_legacy_order(dynamodb, legacy, 1740830500000, "Margherita", "small", "12.5")

    run = run_flask(app_env, "rebuild-profiles", "--user", legacy)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [f"{legacy}: 2 orders", "rebuilt 1 customer profile(s)"]
    summary = dynamodb.get_item(TableName=TABLE, Key={"user_id": {"S": legacy}, "order_id": {"S": "~profile"}},
                                ConsistentRead=True).get("Item")
    assert summary is not None and summary["total_orders"]["N"] == "2"

    # The app reads the rebuilt summary (and the legacy orders) through the API.
    answer = requests.get(app_server.url + "/api/orders", headers=auth(legacy), timeout=10)
    assert answer.status_code == 200
    body = answer.json(parse_float=Decimal)
    assert body["customer_profile"]["total_orders"] == 2
    assert body["customer_profile"]["total_spent"] == Decimal("35.49")
    assert [o["id"] for o in body["orders"]] == ["order_1740830500000", "order_1740830400000"]

    # Without --user it walks every customer in the table, this one included.
    everyone = run_flask(app_env, "rebuild-profiles")
    assert everyone.returncode == 0, everyone.stderr
    assert f"{legacy}: 2 orders" in everyone.stdout.splitlines()
    assert re.search(r"^rebuilt \d+ customer profile\(s\)$", everyone.stdout, re.M)


# --- the API over HTTP ---------------------------------------------------------------------------


def test_health_and_menu(app_server):
    health = requests.get(app_server.url + "/api/health", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    ready = requests.get(app_server.url + "/api/ready", timeout=5)
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    menu = requests.get(app_server.url + "/api/menu", timeout=5)
    assert menu.status_code == 200
    served = {p["name"]: {size: Decimal(str(v)) for size, v in p["prices"].items()}
              for p in menu.json(parse_float=Decimal)["pizzas"]}
    assert served == {name: {size: Decimal(v) for size, v in by_size.items()} for name, by_size in PRICES.items()}


def test_place_list_and_get_an_order_with_a_signed_token(app_server, auth):
    customer = new_customer()
    headers = auth(customer)
    placed = post_order(app_server.url, headers, "Supreme", "large", 2)
    assert placed.status_code == 201, placed.text
    body = placed.json(parse_float=Decimal)
    order = body["order"]
    assert body["success"] is True and body["storage"] == "dynamodb"
    assert (order["pizza"], order["size"], order["quantity"]) == ("Supreme", "large", 2)
    assert order["total"] == price("Supreme", "large", 2) and order["userId"] == customer
    assert order["status"] == "confirmed" and order["id"].startswith("order_")
    assert placed.headers["Location"] == f"/api/orders/{order['id']}"

    listed = requests.get(app_server.url + "/api/orders", headers=headers, timeout=10)
    assert listed.status_code == 200
    history = listed.json(parse_float=Decimal)
    assert history["orders"] == [order] and history["next_cursor"] is None
    profile = history["customer_profile"]
    assert profile["total_orders"] == 1 and profile["total_spent"] == Decimal("48")
    assert profile["favorite_pizza"] == "Supreme" and profile["data_source"] == "dynamodb"

    one = requests.get(app_server.url + placed.headers["Location"], headers=headers, timeout=10)
    assert one.status_code == 200 and one.json(parse_float=Decimal)["order"] == order
    # Another customer cannot read it.
    other = requests.get(app_server.url + placed.headers["Location"], headers=auth(new_customer()), timeout=10)
    assert other.status_code == 404


def test_api_refuses_missing_and_forged_tokens_over_http(app_server, auth):
    missing = requests.get(app_server.url + "/api/orders", timeout=5)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    forged = requests.get(app_server.url + "/api/orders", headers=auth(new_customer(), iss="https://evil.example/"),
                          timeout=5)
    assert forged.status_code == 401 and forged.json()["error"] == "invalid_token"


# --- start-up refusals -----------------------------------------------------------------------------


def test_a_missing_secret_key_stops_gunicorn_with_one_clear_line(start_gunicorn, app_env):
    server = start_gunicorn({k: v for k, v in app_env.items() if k != "SECRET_KEY"}, name="no-secret")
    try:
        status = server.wait_exit(timeout=10)
    except subprocess.TimeoutExpired:
        status = None
    if status is None:
        mentions = server.stderr.count("SECRET_KEY is required")
        pytest.fail(f"gunicorn did not exit within 10 s: its workers failed to boot and were respawned "
                    f"({mentions} times) instead of the master stopping with one line", pytrace=False)
    stderr = server.stderr
    assert status != 0
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if "SECRET_KEY" in line]
    assert len(lines) == 1, stderr
    assert "SECRET_KEY is required" in lines[0]


def test_a_missing_tls_certificate_stops_gunicorn_with_one_clear_line(start_gunicorn, app_env, tmp_path):
    missing_cert = tmp_path / "missing.crt"
    server = start_gunicorn({**app_env, "TLS_CERTFILE": str(missing_cert), "TLS_KEYFILE": str(tmp_path / "x.key")},
                            name="missing-cert")
    status = server.wait_exit(timeout=15)
    assert status != 0
    lines = server.stderr.strip().splitlines()
    assert lines == [f"gunicorn.conf.py: TLS_CERTFILE is set but {missing_cert} does not exist"]
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/api/health", timeout=2)  # nothing listens: no silent plain HTTP


# --- TLS -----------------------------------------------------------------------------------------------


def test_gunicorn_serves_https_with_hsts_and_refuses_plain_http(start_gunicorn, app_env, auth, tmp_path):
    cert, key = write_self_signed_cert(tmp_path)
    server = start_gunicorn({**app_env, "TLS_CERTFILE": str(cert), "TLS_KEYFILE": str(key)}, name="tls",
                            scheme="https")
    server.wait_ready(verify=str(cert))

    health = requests.get(server.url + "/api/health", verify=str(cert), timeout=5)
    assert health.status_code == 200
    assert health.headers["Strict-Transport-Security"].startswith("max-age=")
    page = requests.get(server.url + "/", verify=str(cert), timeout=5)
    assert page.status_code == 200 and "max-age=" in page.headers["Strict-Transport-Security"]
    placed = post_order(server.url, auth(new_customer()), verify=str(cert))
    assert placed.status_code == 201, placed.text

    with pytest.raises(requests.exceptions.SSLError):
        requests.get(server.url + "/api/health", timeout=5)  # the system trust store does not know it
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url.replace("https://", "http://") + "/api/health", timeout=5)


def test_no_hsts_over_plain_http(app_server):
    assert "Strict-Transport-Security" not in requests.get(app_server.url + "/api/health", timeout=5).headers


# --- logs ---------------------------------------------------------------------------------------------


def _json_lines(text: str) -> list[dict]:
    """Every complete line that looks like JSON, parsed (a line still being written is left out)."""
    complete = text[: text.rfind("\n") + 1]
    return [json.loads(line) for line in complete.splitlines() if line.startswith("{")]


def test_json_log_lines_carry_request_ids_and_no_tokens(app_server, auth):
    customer = new_customer()
    headers = auth(customer)
    request_id = f"it-{uuid.uuid4().hex}"
    placed = post_order(app_server.url, {**headers, "X-Request-ID": request_id}, "Hawaiian", "small")
    assert placed.status_code == 201
    assert placed.headers["X-Request-ID"] == request_id
    order_id = placed.json()["order"]["id"]

    refused = post_order(app_server.url, {**auth(customer, aud="https://other-api")})
    assert refused.status_code == 401
    generated = refused.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    junk = requests.get(app_server.url + "/api/health", headers={"X-Request-ID": "bad id\twith spaces"}, timeout=5)
    assert re.fullmatch(r"[0-9a-f]{32}", junk.headers["X-Request-ID"])

    wait_for(lambda: generated in app_server.stdout and request_id in app_server.stdout, 10,
             what="the log lines of both requests")
    stdout = app_server.stdout
    records = _json_lines(stdout)  # every JSON-looking line parses
    audit = [r for r in records if r.get("request_id") == request_id and r.get("event") == "order"]
    assert len(audit) == 1, records[-5:]
    assert audit[0]["outcome"] == "placed" and audit[0]["order_id"] == order_id
    assert audit[0]["user_id"] == customer and audit[0]["level"] == "info"
    assert audit[0]["email"] != f"{customer.split('|')[-1]}@example.com" and "***@" in audit[0]["email"]
    refusal = [r for r in records if r.get("request_id") == generated and r.get("event") == "order"]
    assert len(refusal) == 1 and refusal[0]["outcome"] == "refused"
    # One access line per request, the app's own (gunicorn's access log is off), with the same id.
    access = [r for r in records if r.get("logger") == "pizza42.access" and r.get("request_id") == request_id]
    assert [(r["method"], r["path"], r["status"]) for r in access] == [("POST", "/api/orders", 201)]
    assert not re.search(r'"POST /api/orders HTTP/1\.1" 201', stdout)

    everything = stdout + app_server.stderr
    assert not JWT_PATTERN.search(everything), "a token was written to the logs"
    assert "Bearer" not in everything
    assert SECRET_KEY not in everything and "web-client-secret-for-tests" not in everything
    assert "@example.com" not in everything.replace("***@example.com", "")
