"""SessionStore: the pages' sessions in their own DynamoDB table, with their timeouts and failure modes.

Table `Pizza42-Sessions` (DYNAMODB_SESSIONS_TABLE_NAME), one item per session:

  id_hash      S  hash key: SHA-256 of the session id, so the table never holds an id a browser could send
  payload      S  the session's data (Flask's tagged JSON: claims, the ID token for logout's id_token_hint,
                  CSRF secret, OIDC state, flashes)
  customer_id  S  the customer's `sub`, once logged in (the key of the sparse `by-customer` index)
  created_at   N  when the id was issued (epoch seconds): the absolute lifetime counts from here
  seen_at      N  the last request that moved the idle window (written at most once a minute)
  expires_at   N  TTL: when DynamoDB may delete the item; the app refuses the session from then on

"Log out everywhere" queries the keys-only `by-customer` index (written only when a session is created or
deleted, never on the per-minute touch) and deletes what it lists, so a page view reads one item, nothing more.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import ClientError

from pizza42 import dynamodb

CUSTOMER_INDEX = "by-customer"
TOUCH_INTERVAL_SECONDS = 60  # the idle window moves (one write) at most once a minute per session
# Never overwrite: a fresh 256-bit id colliding would mean a broken random source, not a session to replace.
_NEW_ITEM = "attribute_not_exists(id_hash)"
# Never resurrect: a session deleted meanwhile (logged out in another tab or "everywhere") stays deleted.
_STILL_THERE = "attribute_exists(id_hash)"


class SessionsUnavailable(Exception):
    """The sessions table could not be reached, or throttled us past our retries (the pages answer 503)."""


@dataclass(frozen=True)
class SessionRecord:
    """One stored session as read back."""

    payload: str
    customer_id: str | None
    created_at: int
    seen_at: int


def _key(session_id: str) -> dict:
    """The item key of a session: the id's SHA-256, the only form the table ever sees."""
    return {"id_hash": {"S": hashlib.sha256(session_id.encode()).hexdigest()}}


class SessionStore:
    """Sessions by id, with idle and absolute timeouts judged here, on the server."""

    def __init__(self, client: object, table_name: str, *, idle_seconds: int, lifetime_seconds: int,
                 clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self.table_name = table_name
        self.idle_seconds = idle_seconds
        self.lifetime_seconds = lifetime_seconds
        self._clock = clock

    def _call(self, operation: str, **params: object) -> dict:
        """Call DynamoDB; anything but a condition failure (or our own bug) becomes SessionsUnavailable."""
        return dynamodb.call(self._client, self.table_name, operation, params, unavailable=SessionsUnavailable)

    def now(self) -> int:
        """The store's clock, in whole seconds (injectable for tests)."""
        return int(self._clock())

    def _expires_at(self, created_at: int, seen_at: int) -> int:
        return min(seen_at + self.idle_seconds, created_at + self.lifetime_seconds)

    # -- administration ---------------------------------------------------------------------

    def create_table(self) -> bool:
        """Create the sessions table (on-demand, TTL, keys-only customer index); False if it already exists."""
        return dynamodb.create_table_once(self._client, self.table_definition(), ttl_attribute="expires_at")

    def table_definition(self) -> dict:
        """The sessions table as create-table makes it (the CloudFormation template is tested against this)."""
        return {
            "TableName": self.table_name,
            "KeySchema": [{"AttributeName": "id_hash", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id_hash", "AttributeType": "S"},
                                     {"AttributeName": "customer_id", "AttributeType": "S"}],
            "GlobalSecondaryIndexes": [{
                "IndexName": CUSTOMER_INDEX,
                "KeySchema": [{"AttributeName": "customer_id", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},  # touches change no key: no index writes
            }],
        }

    def ping(self) -> None:
        """Readiness: the sessions table is reachable (raises SessionsUnavailable if not)."""
        self._call("describe_table")

    # -- reads -----------------------------------------------------------------------------

    def get(self, session_id: str) -> SessionRecord | None:
        """The stored session, expired or not (see is_expired); None if there is none under this id."""
        # Consistent: a session deleted at logout, or created at login, is seen as such by the very next request.
        item = self._call("get_item", Key=_key(session_id), ConsistentRead=True).get("Item")
        if item is None:
            return None
        return SessionRecord(payload=item["payload"]["S"], customer_id=item.get("customer_id", {}).get("S"),
                             created_at=int(item["created_at"]["N"]), seen_at=int(item["seen_at"]["N"]))

    def is_expired(self, record: SessionRecord) -> bool:
        """Idle too long, or older than the absolute lifetime — whatever TTL has or has not deleted yet."""
        return self.now() >= self._expires_at(record.created_at, record.seen_at)

    def needs_touch(self, record: SessionRecord) -> bool:
        """Whether this request should move the idle window (at most once a minute)."""
        return self.now() - record.seen_at >= TOUCH_INTERVAL_SECONDS

    # -- writes ----------------------------------------------------------------------------

    def create(self, session_id: str, payload: str, customer_id: str | None = None,
               replacing: str | None = None) -> None:
        """Store a new session; with `replacing`, delete that one in the same transaction (a new id at login)."""
        now = self.now()
        item = {**_key(session_id), "payload": {"S": payload}, "created_at": {"N": str(now)},
                "seen_at": {"N": str(now)}, "expires_at": {"N": str(self._expires_at(now, now))}}
        if customer_id:
            item["customer_id"] = {"S": customer_id}
        if replacing is None:
            self._call("put_item", Item=item, ConditionExpression=_NEW_ITEM)
            return
        # Atomic: the old id is gone exactly when the new one exists, so it can never be used again.
        self._call("transact_write_items", TransactItems=[
            {"Put": {"TableName": self.table_name, "Item": item, "ConditionExpression": _NEW_ITEM}},
            {"Delete": {"TableName": self.table_name, "Key": _key(replacing)}},
        ])

    def update(self, session_id: str, record: SessionRecord, payload: str) -> bool:
        """Store changed data and move the idle window; False if the session was deleted meanwhile."""
        return self._write(session_id, record, "SET payload = :payload, seen_at = :now, expires_at = :expires",
                           {":payload": {"S": payload}})

    def touch(self, session_id: str, record: SessionRecord) -> bool:
        """Move the idle window to now; False if the session was deleted meanwhile."""
        return self._write(session_id, record, "SET seen_at = :now, expires_at = :expires", {})

    def _write(self, session_id: str, record: SessionRecord, update: str, values: dict) -> bool:
        now = self.now()
        values = {**values, ":now": {"N": str(now)},
                  ":expires": {"N": str(self._expires_at(record.created_at, now))}}
        try:
            self._call("update_item", Key=_key(session_id), UpdateExpression=update,
                       ConditionExpression=_STILL_THERE, ExpressionAttributeValues=values)
        except ClientError:
            return False  # the condition failed: logged out meanwhile
        return True

    def delete(self, session_id: str) -> None:
        """End one session now (logout): its item is gone before the browser is told anything."""
        self._call("delete_item", Key=_key(session_id))

    def delete_all(self, customer_id: str) -> int:
        """End every session of a customer, in every browser ("log out everywhere"); how many there were."""
        params: dict = {"IndexName": CUSTOMER_INDEX, "KeyConditionExpression": "customer_id = :customer",
                        "ExpressionAttributeValues": {":customer": {"S": customer_id}}}
        ended = 0
        while True:
            page = self._call("query", **params)
            for item in page["Items"]:
                self._call("delete_item", Key={"id_hash": item["id_hash"]})
                ended += 1
            if "LastEvaluatedKey" not in page:
                return ended
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
