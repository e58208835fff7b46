"""The IAM policies in deploy/, read as (action, resource) grants."""

from __future__ import annotations

import json
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
ARN = "arn:aws:dynamodb:us-east-1:ACCOUNT_ID:table/"
ORDERS_ARN, SESSIONS_ARN = ARN + "Pizza42-Orders", ARN + "Pizza42-Sessions"
CUSTOMER_INDEX_ARN = SESSIONS_ARN + "/index/by-customer"
SHOP_INDEX_ARNS = (ORDERS_ARN + "/index/open-orders", ORDERS_ARN + "/index/by-day")


def policy_grants(name: str) -> set[tuple[str, str]]:
    """Every (action, resource) pair a policy file allows (it must allow only, never deny)."""
    grants = set()
    for statement in json.loads((DEPLOY / name).read_text())["Statement"]:
        assert statement["Effect"] == "Allow"
        actions, resources = statement["Action"], statement["Resource"]
        for action in [actions] if isinstance(actions, str) else actions:
            for resource in [resources] if isinstance(resources, str) else resources:
                grants.add((action, resource))
    return grants


# TransactWriteItems is authorised entry by entry, as the action of each entry.
_ACTIONS = {"get_item": "GetItem", "query": "Query", "put_item": "PutItem", "update_item": "UpdateItem",
            "delete_item": "DeleteItem", "describe_table": "DescribeTable", "scan": "Scan",
            "create_table": "CreateTable", "update_table": "UpdateTable", "update_time_to_live": "UpdateTimeToLive",
            "describe_time_to_live": "DescribeTimeToLive", "Put": "PutItem", "Update": "UpdateItem",
            "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


def grants_needed(requests: list[tuple[str, dict]]) -> set[tuple[str, str]]:
    """The IAM (action, resource) pairs a list of recorded DynamoDB calls needs (an index is a resource)."""
    grants = set()
    for operation, params in requests:
        if operation == "transact_write_items":
            grants |= {(f"dynamodb:{_ACTIONS[kind]}", ARN + entry["TableName"])
                       for item in params["TransactItems"] for kind, entry in item.items()}
            continue
        resource = ARN + params["TableName"] + (f"/index/{params['IndexName']}" if "IndexName" in params else "")
        grants.add((f"dynamodb:{_ACTIONS[operation]}", resource))
    return grants
