"""The template as a stack: created in moto (CloudFormation, offline), and the app placing and listing orders on
the very tables that stack made, under the names the operator gave them."""

from __future__ import annotations

import json
import time
import uuid
import warnings

import boto3
import pytest
from moto import mock_aws

from pizza42 import claims, create_app
from pizza42.config import load_settings
from pizza42.orders.store import OrderStore
from pizza42.sessions.store import SessionStore
from tests.deploy.cfn import ROOT, load_template
from tests.jwt_helpers import LocalIssuer, RSAKeyFixture

REGION = "us-east-1"
MOTO_ACCOUNT = "123456789012"
ORDERS, SESSIONS = "Prod-Pizza42-Orders", "Prod-Pizza42-Sessions"
SPA_CLIENT, USER = "pizza42-spa", "auth0|stack-customer"
# Resources moto 5.2.5 does not build: it skips them with a warning (the parsed-template tests cover them).
MOTO_SKIPS = {"AWS::CloudWatch::Alarm", "AWS::AutoScaling::ScalingPolicy", "AWS::EC2::SecurityGroupEgress"}


def moto_template() -> str:
    """The template, less what moto cannot evaluate at all (it would stop the stack, not skip a resource)."""
    template = load_template()
    # The dashboard reads TargetGroup.TargetGroupFullName: moto's target group has no attributes for Fn::GetAtt.
    del template["Resources"]["Dashboard"]
    del template["Outputs"]["DashboardUrl"]
    # moto has no LoadBalancer.CanonicalHostedZoneID.
    del template["Outputs"]["LoadBalancerHostedZoneId"]
    return json.dumps(template)


@pytest.fixture(scope="module")
def stack() -> dict:
    """The stack created in moto in a fresh VPC (two AZs); its outputs, and the resource types moto skipped."""
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
        zones = ["us-east-1a", "us-east-1b", "us-east-1a", "us-east-1b"]  # ALB pair, then instance pair
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24", AvailabilityZone=zone)["Subnet"]
                   ["SubnetId"] for i, zone in enumerate(zones)]
        certificate = boto3.client("acm", region_name=REGION).request_certificate(
            DomainName="shop.example.com")["CertificateArn"]
        parameters = {
            "VpcId": vpc, "LoadBalancerSubnetIds": ",".join(subnets[:2]), "InstanceSubnetIds": ",".join(subnets[2:]),
            "ReleaseBucket": "pizza42-releases", "ReleaseKey": "releases/pizza42-v1.4.0.tar.gz",
            "ReleaseSha256": "0" * 64, "DomainName": "shop.example.com", "CertificateArn": certificate,
            "Auth0Domain": "pizza42.eu.auth0.com", "Auth0ClientId": "web-client-id",
            "OrdersTableName": ORDERS, "SessionsTableName": SESSIONS}
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cloudformation.create_stack(
                StackName="pizza42", TemplateBody=moto_template(), Capabilities=["CAPABILITY_IAM"],
                Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()])
            described = cloudformation.describe_stacks(StackName="pizza42")["Stacks"][0]
            resources = cloudformation.list_stack_resources(StackName="pizza42")["StackResourceSummaries"]
        yield {"status": described["StackStatus"], "instance_subnets": set(subnets[2:]),
               "outputs": {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]},
               "resources": {r["LogicalResourceId"]: r for r in resources if r["LogicalResourceId"]},
               "skipped": {str(w.message).split()[3] for w in caught if "not supported by moto" in str(w.message)}}


def test_the_stack_is_created_and_moto_skipped_only_the_known_types(stack):
    assert stack["status"] == "CREATE_COMPLETE"
    assert stack["skipped"] == MOTO_SKIPS
    assert {r["ResourceStatus"] for r in stack["resources"].values()} == {"CREATE_COMPLETE"}
    assert (stack["outputs"]["OrdersTableName"], stack["outputs"]["SessionsTableName"]) == (ORDERS, SESSIONS)


@pytest.mark.parametrize("table", [ORDERS, SESSIONS])
def test_the_stacks_tables_have_the_apps_keys_and_indexes(stack, table):
    definition = (OrderStore(None, table) if table == ORDERS else
                  SessionStore(None, table, idle_seconds=1800, lifetime_seconds=28800)).table_definition()
    described = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=table)["Table"]
    assert described["KeySchema"] == definition["KeySchema"]
    assert sorted(described["AttributeDefinitions"], key=str) == sorted(definition["AttributeDefinitions"], key=str)
    indexes = {i["IndexName"]: (i["KeySchema"], i["Projection"]) for i in described["GlobalSecondaryIndexes"]}
    assert indexes == {i["IndexName"]: (i["KeySchema"], i["Projection"]) for i in definition["GlobalSecondaryIndexes"]}
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert described["DeletionProtectionEnabled"] is True


def test_the_stacks_role_grants_what_deploy_iam_policy_json_grants(stack):
    iam = boto3.client("iam", region_name=REGION)
    role = stack["resources"]["InstanceRole"]["PhysicalResourceId"]
    document = iam.get_role_policy(RoleName=role, PolicyName="pizza42-dynamodb")["PolicyDocument"]
    if isinstance(document, str):  # moto returns the document as Python's repr of the dict
        document = json.loads(document.replace("'", '"'))
    expected = (ROOT / "deploy" / "iam-policy.json").read_text().replace("ACCOUNT_ID", MOTO_ACCOUNT)
    expected = expected.replace("table/Pizza42-Orders", f"table/{ORDERS}").replace(
        "table/Pizza42-Sessions", f"table/{SESSIONS}")
    assert document == json.loads(expected)


def test_instances_run_in_both_instance_subnets_behind_the_target_group_on_nginx_port(stack):
    autoscaling, ec2 = boto3.client("autoscaling", region_name=REGION), boto3.client("ec2", region_name=REGION)
    group = autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[stack["outputs"]["AutoScalingGroupName"]])["AutoScalingGroups"][0]
    assert (group["MinSize"], group["MaxSize"], len(group["Instances"])) == (2, 4, 2)
    assert set(group["VPCZoneIdentifier"].split(",")) == stack["instance_subnets"]
    targets = boto3.client("elbv2", region_name=REGION).describe_target_health(
        TargetGroupArn=group["TargetGroupARNs"][0])["TargetHealthDescriptions"]
    assert {t["Target"]["Port"] for t in targets} == {8080}
    assert {t["Target"]["Id"] for t in targets} == {i["InstanceId"] for i in group["Instances"]}
    versions = ec2.describe_launch_template_versions(LaunchTemplateId=group["LaunchTemplate"]["LaunchTemplateId"])
    assert versions["LaunchTemplateVersions"][0]["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"] == "required"


# -- the app on the stack's tables ---------------------------------------------------------------

@pytest.fixture(scope="module")
def signing_key() -> RSAKeyFixture:
    """The identity provider's RSA signing key."""
    return RSAKeyFixture()


@pytest.fixture(scope="module")
def issuer(signing_key):
    """A local OpenID issuer publishing that key."""
    with LocalIssuer(signing_key.jwks) as server:
        yield server


@pytest.fixture
def client(stack, issuer):
    """The app configured as the instances are (table names from the stack's outputs), on moto's DynamoDB."""
    settings = load_settings({
        "SECRET_KEY": "stack-test-secret-key-0123456789", "AUTH0_ISSUER": issuer.issuer,
        "AUTH0_CLIENT_ID": "web-client-id", "AUTH0_CLIENT_SECRET": "not-a-real-secret",
        "AUTH0_SPA_CLIENT_IDS": SPA_CLIENT, "AWS_REGION": REGION,
        "DYNAMODB_TABLE_NAME": stack["outputs"]["OrdersTableName"],
        "DYNAMODB_SESSIONS_TABLE_NAME": stack["outputs"]["SessionsTableName"]})
    app = create_app(settings, dynamodb_client=boto3.client("dynamodb", region_name=REGION))
    app.config["TESTING"] = True
    return app.test_client()


@pytest.fixture
def auth(signing_key, issuer) -> dict:
    """A verified customer's bearer token for the orders API."""
    now = int(time.time())
    token = signing_key.sign({
        "iss": issuer.issuer, "sub": USER, "aud": ["https://pizza42-api", issuer.issuer + "/userinfo"],
        "iat": now, "exp": now + 600, "scope": "openid place:orders", "azp": SPA_CLIENT,
        claims.EMAIL: "stack@example.com", claims.EMAIL_VERIFIED: True, claims.CAN_PLACE_ORDERS: True})
    return {"Authorization": f"Bearer {token}"}


def test_ready_reaches_both_of_the_stacks_tables(client):
    assert client.get("/api/ready").status_code == 200


def test_orders_placed_through_the_api_land_in_the_stacks_table_and_list_back(client, auth):
    key = str(uuid.uuid4())
    first = client.post("/api/orders", json={"pizza": "Supreme", "size": "large", "quantity": 1},
                        headers={**auth, "Idempotency-Key": key})
    assert first.status_code == 201
    order_id = first.json["order"]["id"]
    replay = client.post("/api/orders", json={"pizza": "Supreme", "size": "large", "quantity": 1},
                         headers={**auth, "Idempotency-Key": key})
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json["order"]["id"] == order_id
    second = client.post("/api/orders", json={"pizza": "Margherita", "size": "small", "quantity": 2}, headers=auth)
    assert second.status_code == 201

    listed = client.get("/api/orders", headers=auth)
    assert listed.status_code == 200
    assert [o["id"] for o in listed.json["orders"]][:2] == [second.json["order"]["id"], order_id]
    assert listed.json["customer_profile"]["total_orders"] == 2
    assert client.get(f"/api/orders/{order_id}", headers=auth).json["order"]["pizza"] == "Supreme"
    stored = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=ORDERS, Key={"user_id": {"S": USER}, "order_id": {"S": order_id}})
    assert stored["Item"]["pizza"]["S"] == "Supreme"
