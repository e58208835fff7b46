"""The template's tables are the app's own (table_definition()), kept whatever happens, reached by exactly
the least-privilege policy of deploy/iam-policy.json."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from pizza42.orders.store import OrderStore
from pizza42.sessions.store import SessionStore
from tests.deploy.cfn import ROOT, defaults, load_template, resolve, table_names

TEMPLATE = load_template()
TABLES = TEMPLATE["Resources"]


class RecordingDynamoDB:
    """Stands in for DynamoDB under `create-table`: no table exists yet, and every call is recorded."""

    def __init__(self) -> None:
        self.calls: dict[str, dict] = {}

    def describe_table(self, **params: object) -> dict:
        raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "DescribeTable")

    def create_table(self, **params: object) -> dict:
        self.calls["create_table"] = params
        return {}

    def update_time_to_live(self, **params: object) -> dict:
        self.calls["update_time_to_live"] = params
        return {}

    def get_waiter(self, name: str) -> object:
        return SimpleNamespace(wait=lambda **params: None)


def create_table_calls(logical_id: str, table_name: str) -> dict[str, dict]:
    """What `flask create-table` sends DynamoDB for that table: the single source of truth."""
    client = RecordingDynamoDB()
    if logical_id == "OrdersTable":
        OrderStore(client, table_name).create_table()
    else:
        SessionStore(client, table_name, idle_seconds=1800, lifetime_seconds=8 * 3600).create_table()
    return client.calls


def as_set(items: list[dict]) -> set[str]:
    return {json.dumps(item, sort_keys=True) for item in items}


@pytest.mark.parametrize("logical_id", ["OrdersTable", "SessionsTable"])
def test_each_table_is_what_create_table_makes(logical_id):
    props = TABLES[logical_id]["Properties"]
    name = resolve(props["TableName"], defaults(TEMPLATE))
    calls = create_table_calls(logical_id, name)
    made = calls["create_table"]
    assert set(made) == {"TableName", "KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes", "BillingMode"}
    assert made["TableName"] == name
    assert props["KeySchema"] == made["KeySchema"]
    assert as_set(props["AttributeDefinitions"]) == as_set(made["AttributeDefinitions"])
    indexes = {index["IndexName"]: index for index in props["GlobalSecondaryIndexes"]}
    assert indexes == {index["IndexName"]: index for index in made["GlobalSecondaryIndexes"]}
    assert props["BillingMode"] == made["BillingMode"] == "PAY_PER_REQUEST"
    assert all("ProvisionedThroughput" not in index for index in props["GlobalSecondaryIndexes"])
    ttl = calls["update_time_to_live"]["TimeToLiveSpecification"]
    assert props["TimeToLiveSpecification"] == {"AttributeName": ttl["AttributeName"], "Enabled": ttl["Enabled"]}
    assert ttl["AttributeName"] == "expires_at"


def test_create_table_still_makes_what_its_table_definition_says():
    # The recording above is the app's real create-table path, not a copy of table_definition().
    calls = create_table_calls("OrdersTable", "t")["create_table"]
    assert {k: v for k, v in calls.items() if k != "BillingMode"} == OrderStore(None, "t").table_definition()


def test_the_tables_are_named_as_the_apps_defaults():
    assert table_names(TEMPLATE, defaults(TEMPLATE)) == {"OrdersTable": "Pizza42-Orders",
                                                         "SessionsTable": "Pizza42-Sessions"}


@pytest.mark.parametrize("logical_id", ["OrdersTable", "SessionsTable"])
def test_no_stack_change_can_drop_a_table(logical_id):
    table = TABLES[logical_id]
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] is True


def test_the_orders_table_can_be_restored_to_a_point_in_time():
    recovery = TABLES["OrdersTable"]["Properties"]["PointInTimeRecoverySpecification"]
    assert recovery == {"PointInTimeRecoveryEnabled": True}


def test_only_the_two_tables_are_defined():
    kinds = {name for name, r in TABLES.items() if r["Type"] == "AWS::DynamoDB::Table"}
    assert kinds == {"OrdersTable", "SessionsTable"}


# -- the instance role ---------------------------------------------------------------------------

def role_policy(name: str) -> dict:
    policies = TABLES["InstanceRole"]["Properties"]["Policies"]
    return next(p["PolicyDocument"] for p in policies if p["PolicyName"] == name)


def test_the_roles_dynamodb_policy_is_deploy_iam_policy_json():
    document = resolve(role_policy("pizza42-dynamodb"), {**defaults(TEMPLATE), **table_names(TEMPLATE,
                                                                                              defaults(TEMPLATE))})
    assert document == json.loads((ROOT / "deploy" / "iam-policy.json").read_text())


def test_the_roles_dynamodb_policy_follows_the_table_name_parameters():
    names = defaults(TEMPLATE, OrdersTableName="Shop-Orders", SessionsTableName="Shop-Sessions")
    text = json.dumps(resolve(role_policy("pizza42-dynamodb"), {**names, **table_names(TEMPLATE, names)}))
    assert "table/Shop-Orders/index/by-day" in text and "table/Shop-Sessions/index/by-customer" in text
    assert "Pizza42-" not in text


def test_the_role_adds_session_manager_and_the_cloudwatch_agent_and_nothing_broad():
    props = TABLES["InstanceRole"]["Properties"]
    managed = [resolve(arn, {}) for arn in props["ManagedPolicyArns"]]
    assert managed == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
                       "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"]
    assert props["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    for policy in props["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in statement:
                statement = statement["Fn::If"][1]
            assert "*" not in json.dumps(statement["Action"]) and statement["Resource"] != "*"


def test_the_boot_policy_reads_exactly_the_named_secrets_and_this_release():
    names = defaults(TEMPLATE, ReleaseBucket="releases", ReleaseKey="pizza42-v1.tar.gz",
                     SecretKeyFallbacksParameterName="/pizza42/old-keys")
    statements = resolve(role_policy("pizza42-boot")["Statement"], names)
    secrets = next(s for s in statements if isinstance(s, dict) and s.get("Sid") == "ReadTheSecretsByName")
    assert secrets["Action"] == "ssm:GetParameter"
    assert secrets["Resource"][:2] == ["arn:aws:ssm:us-east-1:ACCOUNT_ID:parameter/pizza42/secret-key",
                                       "arn:aws:ssm:us-east-1:ACCOUNT_ID:parameter/pizza42/auth0-client-secret"]
    # The optional fallbacks parameter is readable only when named (Fn::If on HasKeyFallbacks).
    assert secrets["Resource"][2]["Fn::If"][0] == "HasKeyFallbacks"
    assert secrets["Resource"][2]["Fn::If"][1] == "arn:aws:ssm:us-east-1:ACCOUNT_ID:parameter/pizza42/old-keys"
    release = next(s for s in statements if isinstance(s, dict) and s.get("Sid") == "ReadThisRelease")
    assert (release["Action"], release["Resource"]) == ("s3:GetObject", "arn:aws:s3:::releases/pizza42-v1.tar.gz")
