"""SessionStore on moto: the table, hashed keys, timeouts judged on the server, no resurrection, "everywhere"."""

from __future__ import annotations

import hashlib

import boto3
import pytest
from botocore.config import Config

from pizza42.sessions.store import SessionStore, SessionsUnavailable
from tests.clock import ManualClock
from tests.conftest import SESSIONS_TABLE
from tests.dynamo_helpers import CountingClient

IDLE, LIFETIME = 30 * 60, 8 * 3600
SID, OTHER = "a" * 43, "b" * 43


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def counted(dynamodb) -> CountingClient:
    return CountingClient(dynamodb)


@pytest.fixture
def sessions(counted, clock) -> SessionStore:
    return SessionStore(counted, SESSIONS_TABLE, idle_seconds=IDLE, lifetime_seconds=LIFETIME, clock=clock)


def item(dynamodb, session_id: str) -> dict | None:
    key = {"id_hash": {"S": hashlib.sha256(session_id.encode()).hexdigest()}}
    return dynamodb.get_item(TableName=SESSIONS_TABLE, Key=key).get("Item")


def test_the_table_has_a_hash_key_ttl_and_a_keys_only_customer_index(dynamodb, sessions):
    table = dynamodb.describe_table(TableName=SESSIONS_TABLE)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "id_hash", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    [index] = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by-customer" and index["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    ttl = dynamodb.describe_time_to_live(TableName=SESSIONS_TABLE)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    assert sessions.create_table() is False  # a second run changes nothing


def test_the_table_never_holds_the_id_itself(dynamodb, sessions, clock):
    sessions.create(SID, '{"x": 1}', "auth0|alice")
    [stored] = dynamodb.scan(TableName=SESSIONS_TABLE)["Items"]
    assert SID not in repr(stored)
    assert stored["id_hash"]["S"] == hashlib.sha256(SID.encode()).hexdigest()
    assert stored["customer_id"] == {"S": "auth0|alice"}
    assert stored["created_at"] == stored["seen_at"] == {"N": str(int(clock.now))}
    assert stored["expires_at"] == {"N": str(int(clock.now) + IDLE)}


def test_a_session_is_read_with_one_consistent_get_item(sessions, counted):
    sessions.create(SID, "{}")
    before = len(counted.requests)
    record = sessions.get(SID)
    assert record is not None and record.payload == "{}"
    [(operation, params)] = counted.requests[before:]
    assert operation == "get_item" and params["ConsistentRead"] is True  # a logout is seen by the next request


def test_an_unknown_id_is_none(sessions):
    assert sessions.get(OTHER) is None


def test_idle_timeout_is_judged_on_the_server(sessions, clock):
    sessions.create(SID, "{}")
    clock.advance(IDLE - 1)
    assert not sessions.is_expired(sessions.get(SID))
    clock.advance(1)
    assert sessions.is_expired(sessions.get(SID))


def test_touches_slide_the_idle_window_but_never_past_the_absolute_lifetime(dynamodb, sessions, clock):
    sessions.create(SID, "{}")
    start = int(clock.now)
    for _ in range(2 * LIFETIME // IDLE):  # a request every 29 minutes, for up to twice the lifetime
        if sessions.is_expired(record := sessions.get(SID)):
            break
        assert sessions.touch(SID, record) is True
        assert int(item(dynamodb, SID)["expires_at"]["N"]) == min(int(clock.now) + IDLE, start + LIFETIME)
        clock.advance(IDLE - 60)
    assert start + LIFETIME <= clock.now < start + LIFETIME + IDLE  # alive until the lifetime, not a minute more


def test_the_idle_window_moves_at_most_once_a_minute(sessions, clock):
    sessions.create(SID, "{}")
    clock.advance(59)
    assert not sessions.needs_touch(sessions.get(SID))
    clock.advance(1)
    assert sessions.needs_touch(sessions.get(SID))


def test_an_update_moves_the_window_and_keeps_the_creation_time(dynamodb, sessions, clock):
    sessions.create(SID, "{}")
    created = int(clock.now)
    clock.advance(300)
    assert sessions.update(SID, sessions.get(SID), '{"changed": true}') is True
    record = sessions.get(SID)
    assert (record.payload, record.created_at, record.seen_at) == ('{"changed": true}', created, created + 300)


def test_a_deleted_session_is_never_resurrected_by_a_late_write(dynamodb, sessions):
    sessions.create(SID, "{}")
    record = sessions.get(SID)
    sessions.delete(SID)  # logged out in another request meanwhile
    assert sessions.update(SID, record, '{"customer": 1}') is False
    assert sessions.touch(SID, record) is False
    assert dynamodb.scan(TableName=SESSIONS_TABLE)["Items"] == []


def test_replacing_deletes_the_old_id_in_the_same_transaction(dynamodb, sessions, counted):
    sessions.create(SID, '{"state": 1}')
    before = counted.calls.copy()
    sessions.create(OTHER, '{"customer": 1}', "auth0|alice", replacing=SID)
    assert counted.calls - before == {"transact_write_items": 1}
    assert item(dynamodb, SID) is None and item(dynamodb, OTHER) is not None


def test_delete_all_ends_every_session_of_one_customer_only(dynamodb, sessions):
    for n in range(3):
        sessions.create(f"{n}" * 43, "{}", "auth0|alice")
    sessions.create(OTHER, "{}", "auth0|bob")
    sessions.create(SID, "{}")  # a visitor's session (no customer): not in the index
    assert sessions.delete_all("auth0|alice") == 3
    left = {stored["id_hash"]["S"] for stored in dynamodb.scan(TableName=SESSIONS_TABLE)["Items"]}
    assert left == {hashlib.sha256(sid.encode()).hexdigest() for sid in (OTHER, SID)}


def test_dynamodb_unreachable_is_sessions_unavailable_without_details(caplog):
    dead = boto3.client("dynamodb", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                        config=Config(connect_timeout=0.2, read_timeout=0.2, retries={"max_attempts": 1}))
    store = SessionStore(dead, SESSIONS_TABLE, idle_seconds=IDLE, lifetime_seconds=LIFETIME)
    for call in (lambda: store.get(SID), lambda: store.create(SID, "{}"), lambda: store.delete(SID),
                 lambda: store.delete_all("auth0|alice"), store.ping):
        with pytest.raises(SessionsUnavailable):
            call()
    assert "127.0.0.1" not in caplog.text
