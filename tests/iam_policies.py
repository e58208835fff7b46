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
