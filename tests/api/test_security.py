"""Security headers, CORS, host checking, request ids and audit logs."""

import json
import logging

import pytest

from pizza42 import create_app
from pizza42.config import load_settings
from tests.api.conftest import USER

ORDER = {"pizza": "Margherita", "size": "medium"}
SPA = "https://spa.pizza42.test"


def test_pages_get_a_strict_content_security_policy(client):
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


@pytest.mark.parametrize("path", ["/", "/api/health", "/api/nope"])
def test_every_response_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_our_security_headers_win_but_a_view_may_set_its_own_csp(app, client):
    @app.get("/own-policy")
    def own_policy():
        return "x", 200, {"Content-Security-Policy": "default-src 'none'", "X-Frame-Options": "SAMEORIGIN"}

    response = client.get("/own-policy")
    assert response.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert response.headers.getlist("X-Frame-Options") == ["DENY"]


def test_static_files_carry_the_security_headers_too(client):
    response = client.get("/static/style.css")
    assert response.status_code == 200 and response.headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_is_sent_over_https_only(client):
    assert "Strict-Transport-Security" not in client.get("/api/health").headers
    secure = client.get("/api/health", base_url="https://shop.pizza42.test")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_cors_preflight_from_the_spa_allows_the_api_headers(client):
    response = client.options("/api/orders", headers={
        "Origin": SPA, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Idempotency-Key, Content-Type"})
    assert response.headers["Access-Control-Allow-Origin"] == SPA
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "idempotency-key" in allowed
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_an_spa_on_another_origin_can_refresh_the_kitchen_board_conditionally(client):
    preflight = client.options("/api/shop/orders", headers={
        "Origin": SPA, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Authorization, If-None-Match"})
    assert "if-none-match" in preflight.headers["Access-Control-Allow-Headers"].lower()
    answer = client.get("/api/shop/orders?status=open", headers={"Origin": SPA})
    assert "ETag" in answer.headers["Access-Control-Expose-Headers"]


def test_a_cross_origin_call_from_the_spa_can_read_the_answer_and_its_errors(client, auth):
    for headers, status in (({**auth(), "Origin": SPA}, 200), ({"Origin": SPA}, 401)):
        response = client.get("/api/orders", headers=headers)
        assert response.status_code == status
        assert response.headers["Access-Control-Allow-Origin"] == SPA
        assert "Location" in response.headers["Access-Control-Expose-Headers"]


def test_a_call_without_an_origin_is_not_a_cors_request_and_gets_no_cors_headers(client, auth):
    response = client.get("/api/orders", headers=auth())
    assert response.status_code == 200
    assert not [name for name in response.headers.keys() if name.startswith("Access-Control-")]


def test_the_cacheable_openapi_document_varies_by_origin(client):
    plain, cross = client.get("/api/openapi.json"), client.get("/api/openapi.json", headers={"Origin": SPA})
    assert "Origin" in plain.headers["Vary"] and "Origin" in cross.headers["Vary"]
    assert "Access-Control-Allow-Origin" not in plain.headers
    assert cross.headers["Access-Control-Allow-Origin"] == SPA


def test_cors_refuses_other_origins(client):
    response = client.options("/api/orders", headers={"Origin": "https://evil.test",
                                                      "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_never_applies_outside_the_api(client):
    assert "Access-Control-Allow-Origin" not in client.get("/", headers={"Origin": SPA}).headers


def test_no_cors_at_all_without_configured_origins(settings, dynamodb):
    app = create_app(load_settings({**_env(settings), "CORS_ORIGINS": ""}), dynamodb_client=dynamodb)
    response = app.test_client().get("/api/health", headers={"Origin": SPA})
    assert "Access-Control-Allow-Origin" not in response.headers


def _env(settings) -> dict:
    return {"SECRET_KEY": settings.secret_key, "AUTH0_ISSUER": settings.auth0_issuer,
            "AUTH0_CLIENT_ID": settings.auth0_client_id, "AUTH0_CLIENT_SECRET": settings.auth0_client_secret}


@pytest.fixture
def host_checked(settings, dynamodb):
    env = {**_env(settings), "TRUSTED_HOSTS": "shop.pizza42.test"}
    return create_app(load_settings(env), dynamodb_client=dynamodb).test_client()


def test_unknown_hosts_are_refused(host_checked):
    assert host_checked.get("/api/menu", base_url="http://evil.test").status_code == 400
    assert host_checked.get("/api/menu", base_url="http://shop.pizza42.test").status_code == 200


def test_the_health_check_answers_any_host(host_checked):
    assert host_checked.get("/api/health", base_url="http://10.0.3.17").status_code == 200


def test_a_sane_request_id_is_echoed(client):
    assert client.get("/api/health", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"


@pytest.mark.parametrize("incoming", [None, "x" * 65, "has space", "<script>"])
def test_missing_or_odd_request_ids_are_replaced(client, incoming):
    headers = {"X-Request-ID": incoming} if incoming else {}
    echoed = client.get("/api/health", headers=headers).headers["X-Request-ID"]
    assert echoed and echoed != incoming and len(echoed) == 32


@pytest.fixture
def log_lines(capsys):
    """The JSON lines the app wrote to stdout."""
    def read():
        return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return read


def test_a_placed_order_writes_one_audit_line_without_secrets(client, auth, make_token, log_lines):
    token = make_token()
    response = client.post("/api/orders", json=ORDER, headers={"Authorization": f"Bearer {token}",
                                                               "Idempotency-Key": "key-42", "X-Request-ID": "rid-1"})
    lines = log_lines()
    audits = [line for line in lines if line["logger"] == "pizza42.audit"]
    assert len(audits) == 1
    audit = audits[0]
    assert audit["outcome"] == "placed" and audit["user_id"] == USER
    assert audit["order_id"] == response.json["order"]["id"]
    assert audit["request_id"] == "rid-1" and audit["idempotency_key"] and audit["idempotency_key"] != "key-42"
    everything = json.dumps(lines)
    assert token not in everything and token.split(".")[1] not in everything
    assert "alice@example.com" not in everything and audit["email"] == "a***@example.com"


@pytest.mark.parametrize(("headers", "body", "reason"), [
    ({}, ORDER, "ApiError"),
    ({"Authorization": "Bearer forged.token.here"}, ORDER, "TokenError"),
    (None, {"pizza": "Calzone", "size": "small"}, "InvalidOrder"),
])
def test_a_refused_order_writes_one_audit_line(client, auth, log_lines, headers, body, reason):
    client.post("/api/orders", json=body, headers=auth() if headers is None else headers)
    audits = [line for line in log_lines() if line["logger"] == "pizza42.audit"]
    assert [(a["outcome"], a["reason"]) for a in audits] == [("refused", reason)]


def test_storage_failures_log_the_error_code_only(caplog):
    from botocore.exceptions import ClientError

    from pizza42.orders.errors import StorageUnavailable
    from pizza42.orders.store import OrderStore

    class Throttled:
        def query(self, **kwargs):
            raise ClientError({"Error": {"Code": "ThrottlingException",
                                         "Message": "arn:aws:dynamodb:us-east-1:123456789012:table/x"}}, "Query")

    with caplog.at_level(logging.WARNING), pytest.raises(StorageUnavailable):
        OrderStore(Throttled(), "t").page(USER, 10)
    assert "ThrottlingException" in caplog.text and "123456789012" not in caplog.text
