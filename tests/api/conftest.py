"""Fixtures for the JSON API: the app on a moto table, a local issuer, and signed tokens.

Every API test runs on both DynamoDB paths (DYNAMODB_DIRECT_PATH): the app gets the client make_dynamodb_client
builds, `on` (hot calls over pizza42/dynamodb/direct.py) or `off` (the stock boto3 client), talking real HTTP
to moto's server, which serves the same in-process tables the `dynamodb` fixture creates and tests inspect —
created by CloudFormation from the template's table resources, as a stack deploys them.
The fuzz tests and test_security run on the direct path only: fuzzing tests the API's validation with random
inputs, test_security the headers, CORS, request ids and audit lines, which no DynamoDB path decides; the
DynamoDB exchanges they reach are the ones the other tests drive on both paths. (The second path costs about
a minute: each API test's app and tables are built afresh.)
"""

from __future__ import annotations

import time

import boto3
import pytest
from moto import mock_aws

from pizza42 import claims
from pizza42.aws import make_dynamodb_client
from pizza42.config import load_settings
from pizza42.shop.access import READ_ANALYTICS, READ_SHOP_ORDERS, UPDATE_ORDER_STATUS
from tests.conftest import SESSIONS_TABLE, TABLE
from tests.dynamo_helpers import CountingClient, moto_http_server
from tests.jwt_helpers import LocalIssuer, RSAKeyFixture
from tests.stack_tables import create_tables_with_the_stack

AUDIENCE = "https://pizza42-api"
SPA_CLIENT = "pizza42-spa"
USER = "auth0|alice"
STAFF = "auth0|staff-sam"
MANAGER = "auth0|manager-mia"
STAFF_PERMISSIONS = (READ_SHOP_ORDERS, UPDATE_ORDER_STATUS)  # what Auth0 RBAC gives the `staff` role
MANAGER_PERMISSIONS = (*STAFF_PERMISSIONS, READ_ANALYTICS)  # and the `manager` role


@pytest.fixture(scope="session")
def signing_key() -> RSAKeyFixture:
    """The identity provider's RSA signing key."""
    return RSAKeyFixture()


@pytest.fixture(scope="session")
def issuer(signing_key):
    """A local OpenID issuer publishing the signing key."""
    with LocalIssuer(signing_key.jwks) as server:
        yield server


@pytest.fixture
def settings(issuer):
    """Settings as an operator would give them, pointing at the local issuer."""
    return load_settings({
        "SECRET_KEY": "test-secret-key-0123456789",
        "AUTH0_ISSUER": issuer.issuer,
        "AUTH0_CLIENT_ID": "pizza42-web",
        "AUTH0_CLIENT_SECRET": "web-secret",
        "AUTH0_SPA_CLIENT_IDS": SPA_CLIENT,
        "CORS_ORIGINS": "https://spa.pizza42.test",
    })


DYNAMODB_PATHS = {"on": "direct-path", "off": "stock-client"}  # DYNAMODB_DIRECT_PATH: test id
DEFAULT_PATH_ONLY = ("test_fuzz_api", "test_security")  # modules whose subject no DynamoDB path decides


def pytest_generate_tests(metafunc) -> None:
    """Each API test once per DynamoDB path (DEFAULT_PATH_ONLY modules: the default path only)."""
    if "dynamodb_path" in metafunc.fixturenames:
        single = metafunc.module.__name__.rsplit(".", 1)[-1] in DEFAULT_PATH_ONLY
        paths = ["on"] if single else list(DYNAMODB_PATHS)
        metafunc.parametrize("dynamodb_path", paths, ids=[DYNAMODB_PATHS[p] for p in paths])


@pytest.fixture
def dynamodb_path() -> str:
    """The DynamoDB path of a test that reaches the app only through request.getfixturevalue: the default one."""
    return "on"


@pytest.fixture
def dynamodb():
    """moto's DynamoDB with the orders and sessions tables made by the CloudFormation template's own table
    resources (tests/stack_tables.py): the API is proven on the tables a stack deploys."""
    with mock_aws():
        create_tables_with_the_stack(TABLE, SESSIONS_TABLE)
        yield boto3.client("dynamodb", region_name="us-east-1")


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's DynamoDB over real HTTP (the direct path never goes through botocore, so only a server sees it)."""
    with moto_http_server() as url:
        yield url


@pytest.fixture(scope="session")
def path_clients(moto_endpoint) -> dict[str, object]:
    """The app's DynamoDB client as the app builds it, per DYNAMODB_DIRECT_PATH value (built once: boto3 is slow)."""
    base = {"SECRET_KEY": "x" * 32, "AUTH0_ISSUER": "https://issuer.test/", "AUTH0_CLIENT_ID": "a",
            "AUTH0_CLIENT_SECRET": "b", "DYNAMODB_ENDPOINT_URL": moto_endpoint}
    return {path: make_dynamodb_client(load_settings({**base, "DYNAMODB_DIRECT_PATH": path}))
            for path in DYNAMODB_PATHS}


@pytest.fixture
def counted_dynamodb(dynamodb, path_clients, dynamodb_path) -> CountingClient:
    """The app's client on this test's DynamoDB path (over moto's tables), counting requests per operation."""
    return CountingClient(path_clients[dynamodb_path])


@pytest.fixture
def app_dynamodb(counted_dynamodb) -> CountingClient:
    """The API tests' app counts its DynamoDB requests."""
    return counted_dynamodb


@pytest.fixture
def make_token(signing_key, issuer):
    """Sign an access token for the orders API; keyword arguments override or drop (None) claims."""

    def make(sub: str = USER, *, verified: bool = True, scope: str = "openid place:orders", **overrides) -> str:
        now = int(time.time())
        token_claims = {
            "iss": issuer.issuer, "sub": sub, "aud": [AUDIENCE, issuer.issuer + "/userinfo"],
            "iat": now, "exp": now + 600, "scope": scope, "azp": SPA_CLIENT,
            claims.EMAIL: f"{sub.split('|')[-1]}@example.com", claims.CAN_PLACE_ORDERS: verified,
            claims.EMAIL_VERIFIED: verified,
        }
        token_claims.update(overrides)
        return signing_key.sign({k: v for k, v in token_claims.items() if v is not None})

    return make


@pytest.fixture
def auth(make_token):
    """Authorization headers for a verified customer (or for given claims)."""

    def headers(sub: str = USER, **overrides) -> dict:
        return {"Authorization": f"Bearer {make_token(sub, **overrides)}"}

    return headers


@pytest.fixture
def staff_auth(auth):
    """Authorization headers for staff: an access token with Auth0 RBAC `permissions` (a manager's by default)."""

    def headers(permissions: tuple[str, ...] = MANAGER_PERMISSIONS, sub: str = MANAGER, **overrides) -> dict:
        return auth(sub, scope="openid profile email", permissions=list(permissions), **overrides)

    return headers
