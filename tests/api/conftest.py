"""Fixtures for the JSON API: the app on a moto table, a local issuer, and signed tokens."""

from __future__ import annotations

import time

import pytest

from pizza42 import claims
from pizza42.config import load_settings
from tests.dynamo_helpers import CountingClient
from tests.jwt_helpers import LocalIssuer, RSAKeyFixture

AUDIENCE = "https://pizza42-api"
SPA_CLIENT = "pizza42-spa"
USER = "auth0|alice"


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


@pytest.fixture
def counted_dynamodb(dynamodb) -> CountingClient:
    """The moto client, counting DynamoDB requests per operation."""
    return CountingClient(dynamodb)


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
