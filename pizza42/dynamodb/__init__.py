"""What the order store and the session store share: one way to call DynamoDB and fail, one way to create a table.

No boto3 client is made here (see aws.py): the stores pass in the process's one client. The package also
holds the direct path for the hot calls that client takes (direct.py, over wire.py).
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

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
        raise unavailable(operation) from exc
    except ParamValidationError:
        raise  # a bug in the calling store, not an outage
    except BotoCoreError as exc:
        log.warning("dynamodb %s on %s failed: %s", operation, table_name, type(exc).__name__)
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
