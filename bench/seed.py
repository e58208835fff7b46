"""Data and credentials for the benchmark: tables, seeded histories with summaries, tokens, a stored session."""

from __future__ import annotations

import random
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import boto3
from botocore.config import Config
from flask.json.tag import TaggedJSONSerializer

from pizza42 import claims, menu
from pizza42.orders import items as layout
from pizza42.orders.ids import new_order_id
from pizza42.orders.model import Order, now_iso
from pizza42.orders.store import OrderStore
from pizza42.sessions.store import SessionStore
from pizza42.web.server_session import session_id_signer
from tests.jwt_helpers import RSAKeyFixture

TABLE = "Pizza42-Orders"
SESSIONS_TABLE = "Pizza42-Sessions"
AUDIENCE = "https://pizza42-api"
SMALL, LARGE = "bench|customer-10", "bench|customer-10000"
FILLER_CUSTOMERS, FILLER_ORDERS = 40, 25  # other partitions, so the table is not just our two customers
POST_CUSTOMERS = [f"bench|poster-{n}" for n in range(8)]
_DAY_MS = 86_400_000


@dataclass(frozen=True)
class Histories:
    """Who was seeded with how many orders."""

    sizes: dict[str, int]


def client(endpoint: str) -> object:
    """A boto3 DynamoDB client straight to an emulator (not through the counting proxy)."""
    return boto3.session.Session().client(
        "dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 (emulator credentials, not a secret)
        config=Config(retries={"mode": "standard", "max_attempts": 5}))


def create_table(dynamodb: object) -> None:
    """The orders table as the app creates it (hash user_id, range order_id, on demand); TTL is not needed."""
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"},
                   {"AttributeName": "order_id", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"},
                              {"AttributeName": "order_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST")
    dynamodb.get_waiter("table_exists").wait(TableName=TABLE, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})


def _orders(user_id: str, count: int, rng: random.Random) -> list[dict]:
    """`count` orders spread over the last ~2 years, as items the app itself would write."""
    now_ms = int(time.time() * 1000)
    start = now_ms - 730 * _DAY_MS
    step = (now_ms - start) // max(count, 1)
    items = []
    for n in range(count):
        ms = start + n * step + rng.randrange(max(step, 1))
        pizza, size, quantity = rng.choice(menu.PIZZAS), rng.choice(menu.SIZES), rng.randint(1, 3)
        price = menu.unit_price(pizza, size)
        order = Order(user_id=user_id, order_id=new_order_id(ms), pizza=pizza, size=size, quantity=quantity,
                      unit_price=price, total=price * quantity, user_email=f"{user_id[6:]}@bench.test",
                      created_at=now_iso(datetime.fromtimestamp(ms / 1000, UTC)))
        items.append(layout.order_to_item(order))
    return items


def _batch_write(dynamodb: object, items: list[dict]) -> None:
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": item}} for item in items[start:start + 25]]
        while requests:
            answer = dynamodb.batch_write_item(RequestItems={TABLE: requests})
            requests = answer.get("UnprocessedItems", {}).get(TABLE, [])


def seed_read_table(dynamodb: object) -> Histories:
    """The GET customers (10 and 10,000 orders) and filler customers, each with its summary."""
    rng = random.Random(42)
    sizes = {SMALL: 10, LARGE: 10_000, **{f"bench|filler-{n}": FILLER_ORDERS for n in range(FILLER_CUSTOMERS)}}
    for user_id, count in sizes.items():
        _batch_write(dynamodb, _orders(user_id, count, rng))
    store = OrderStore(dynamodb, TABLE)
    for user_id in sizes:
        store.rebuild_summary(user_id)  # the app's own code path builds each summary
    return Histories(sizes)


def seed_write_table(dynamodb: object) -> None:
    """The POST customers: an (empty) summary each, as every customer has after their first order."""
    store = OrderStore(dynamodb, TABLE)
    for user_id in POST_CUSTOMERS:
        store.rebuild_summary(user_id)


def reset_write_table(dynamodb: object) -> None:
    """A fresh moto table: moto deep-copies the whole table in every transaction, so its size must not drift."""
    dynamodb.delete_table(TableName=TABLE)
    create_table(dynamodb)
    seed_write_table(dynamodb)


def access_token(key: RSAKeyFixture, issuer: str, user_id: str) -> str:
    """An access token like Auth0's for the orders API, with the Post-Login Action's claims (~1 KB)."""
    now = int(time.time())
    email = f"{user_id[6:]}@bench.test"
    ns = claims.NAMESPACE
    return key.sign({
        "iss": issuer, "sub": user_id, "aud": [AUDIENCE, issuer + "/userinfo"], "iat": now, "exp": now + 8 * 3600,
        "azp": "pizza42-spa", "scope": "openid profile email place:orders", "permissions": ["place:orders"],
        ns + "email": email, ns + "email_verified": True, ns + "can_place_orders": True,
        ns + "token_verified_at": now_iso(),
        ns + "auth_metadata": {"login_method": "database", "connection": "Username-Password-Authentication",
                               "time": now_iso()},
        ns + "customer_info": {"customer_since": "2025-01-15T10:00:00.000Z", "data_source": "dynamodb"},
    })


def _sessions(dynamodb: object) -> SessionStore:
    return SessionStore(dynamodb, SESSIONS_TABLE, idle_seconds=30 * 60, lifetime_seconds=8 * 3600)


class _WithoutTimeToLive:
    """A client whose UpdateTimeToLive does nothing: dynalite has no TTL, and the benchmark needs no expiry."""

    def __init__(self, client: object) -> None:
        self._client = client

    def __getattr__(self, name: str) -> object:
        return getattr(self._client, name)

    def update_time_to_live(self, **_: object) -> dict:
        return {}


def create_sessions_table(dynamodb: object) -> None:
    """The pages' sessions table, as `flask create-table` makes it (the history page reads it once per view)."""
    _sessions(_WithoutTimeToLive(dynamodb)).create_table()


def session_cookie(dynamodb: object, secret_key: str, user_id: str) -> str:
    """A logged-in, verified customer's session, stored as /callback stores it; the cookie value that names it."""
    customer = {"sub": user_id, "exp": int(time.time()) + 8 * 3600, "name": "Bench Customer",
                "email": f"{user_id[6:]}@bench.test", "email_verified": True, "can_place_orders": True}
    session_id = secrets.token_urlsafe(32)
    _sessions(dynamodb).create(session_id, TaggedJSONSerializer().dumps({"customer": customer}), user_id)
    return session_id_signer([secret_key]).sign(session_id).decode()


def expected_total(dynamodb: object, user_id: str) -> Decimal:
    """The stored summary's total_spent (to check the app's answer before loading it)."""
    item = dynamodb.get_item(TableName=TABLE, Key=layout.key(user_id, layout.SUMMARY_KEY))["Item"]
    return Decimal(item["total_spent"]["N"])
