"""The app's tables as the CloudFormation template makes them: its table resources, created by CloudFormation
(moto, offline). The API suite runs on these, so every API behaviour is proven on what a stack deploys."""

from __future__ import annotations

import json
from functools import cache

import boto3

from tests.deploy.cfn import load_template, resources_of_type

TABLE_PARAMETERS = ("OrdersTableName", "SessionsTableName")


@cache
def tables_template() -> str:
    """The template cut down to its DynamoDB tables and the parameters naming them (nothing else is needed)."""
    template = load_template()
    return json.dumps({"AWSTemplateFormatVersion": "2010-09-09",
                       "Parameters": {name: template["Parameters"][name] for name in TABLE_PARAMETERS},
                       "Resources": resources_of_type(template, "AWS::DynamoDB::Table")})


def create_tables_with_the_stack(orders_table: str, sessions_table: str, region: str = "us-east-1") -> None:
    """Create both tables through a CloudFormation stack of the template's own table resources."""
    cloudformation = boto3.client("cloudformation", region_name=region)
    cloudformation.create_stack(StackName="pizza42-tables", TemplateBody=tables_template(), Parameters=[
        {"ParameterKey": "OrdersTableName", "ParameterValue": orders_table},
        {"ParameterKey": "SessionsTableName", "ParameterValue": sessions_table}])
    status = cloudformation.describe_stacks(StackName="pizza42-tables")["Stacks"][0]["StackStatus"]
    assert status == "CREATE_COMPLETE", status
