"""What the order store and the session store share: one way to call DynamoDB and fail, one way to create a table.

No boto3 client is made here (see aws.py): the stores pass in the process's one client. The package also
holds the direct path for the hot calls that client takes (direct.py, over wire.py).
"""

from __future__ import annotations

import logging
import time

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from pizza42.observability import metrics

log = logging.getLogger(__name__)
CONDITION_FAILED = "ConditionalCheckFailedException"
TRANSACTION_CANCELLED = "TransactionCanceledException"


def error_code(exc: ClientError) -> str:
    """DynamoDB's error code (never its message: that can carry ARNs and account ids)."""
    return exc.response.get("Error", {}).get("Code", "")


def call(client: object, table_name: str, operation: str, params: dict, *, unavailable: type[Exception],
         expected: frozenset[str] = frozenset({CONDITION_FAILED})) -> dict:
    """Call DynamoDB on this table; an expected error (a failed condition) is re-raised as the ClientError it is,
    and anything else but our own bug becomes `unavailable`, logged by its code only."""
    if operation != "transact_write_items":  # transactions name the table in each item
        params["TableName"] = table_name
    try:
        return getattr(client, operation)(**params)
    except ClientError as exc:
        if error_code(exc) in expected:
            raise
        log.warning("dynamodb %s on %s failed: %s", operation, table_name, error_code(exc))
        metrics.count("DynamoDBUnavailable")
        raise unavailable(operation) from exc
    except ParamValidationError:
        raise  # a bug in the calling store, not an outage
    except BotoCoreError as exc:
        log.warning("dynamodb %s on %s failed: %s", operation, table_name, type(exc).__name__)
        metrics.count("DynamoDBUnavailable")
        raise unavailable(operation) from exc


def create_table_once(client: object, definition: dict, *, ttl_attribute: str) -> bool:
    """Create an on-demand table with TTL on `ttl_attribute`, and wait for it; False if it already exists."""
    name = definition["TableName"]
    try:
        client.describe_table(TableName=name)
        return False
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
    client.create_table(**definition, BillingMode="PAY_PER_REQUEST")
    client.get_waiter("table_exists").wait(TableName=name)
    client.update_time_to_live(TableName=name,
                               TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute})
    return True


def add_missing_indexes(client: object, definition: dict) -> list[str]:
    """Add to an existing table the global secondary indexes of `definition` it lacks; their names.

    DynamoDB builds (backfills) a new index from the items already there; one index is added per call, as
    it requires, waiting for each to become active before the next.
    """
    name = definition["TableName"]
    table = client.describe_table(TableName=name)["Table"]
    present = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    added = []
    for index in definition.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] in present:
            continue
        key_names = {part["AttributeName"] for part in index["KeySchema"]}
        client.update_table(
            TableName=name,
            AttributeDefinitions=[a for a in definition["AttributeDefinitions"] if a["AttributeName"] in key_names],
            GlobalSecondaryIndexUpdates=[{"Create": index}],
        )
        _wait_for_index(client, name, index["IndexName"])
        added.append(index["IndexName"])
    return added


def _wait_for_index(client: object, table_name: str, index_name: str, *, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        indexes = client.describe_table(TableName=table_name)["Table"].get("GlobalSecondaryIndexes", [])
        if all(i.get("IndexStatus", "ACTIVE") == "ACTIVE" for i in indexes if i["IndexName"] == index_name):
            return
        time.sleep(5)
    raise TimeoutError(f"index {index_name} of {table_name} is still being built")
