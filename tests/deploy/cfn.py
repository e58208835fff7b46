"""The CloudFormation template read as CloudFormation reads it, and a small evaluator for its Ref and Fn::Sub."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "cloudformation" / "pizza42.yaml"

# The pseudo parameters, as deploy/iam-policy.json writes their places.
PSEUDO = {"AWS::AccountId": "ACCOUNT_ID", "AWS::Region": "us-east-1", "AWS::Partition": "aws",
          "AWS::StackName": "pizza42", "AWS::URLSuffix": "amazonaws.com", "AWS::NoValue": None}


def load_template(path: Path = TEMPLATE) -> dict:
    """The template as plain data: the short tags (!Ref, !Sub, !GetAtt ...) become their long forms."""
    return json.loads(json.dumps(cfn_yaml.load(str(path))))


def resources_of_type(template: dict, kind: str) -> dict[str, dict]:
    """The template's resources of one type, by logical id."""
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def defaults(template: dict, **overrides: str) -> dict[str, str]:
    """Every parameter's default value (or the override given), as the names Ref and Fn::Sub resolve."""
    values = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
    values.update(overrides)
    return values


def table_names(template: dict, parameters: Mapping[str, str]) -> dict[str, str]:
    """What Ref gives for each DynamoDB table resource: its TableName, resolved."""
    return {name: resolve(r["Properties"]["TableName"], parameters)
            for name, r in resources_of_type(template, "AWS::DynamoDB::Table").items()}


def resolve(node: object, names: Mapping[str, object]) -> object:
    """Evaluate Ref and Fn::Sub against `names` (parameters, tables) and the pseudo parameters."""
    names = {**PSEUDO, **names}
    if isinstance(node, list):
        return [resolve(item, names) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"}:
        return names[node["Ref"]]
    if set(node) == {"Fn::Sub"}:
        spec = node["Fn::Sub"]
        text, local = (spec, {}) if isinstance(spec, str) else (spec[0], resolve(spec[1], names))
        return substitute(text, {**names, **local})
    return {key: resolve(value, names) for key, value in node.items()}


def substitute(text: str, names: Mapping[str, object]) -> str:
    """Fn::Sub's string rule: ${Name} is replaced, ${!Literal} stays as ${Literal}; an unknown name fails."""
    names = {**PSEUDO, **names}

    def one(match: re.Match) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        return str(names[name])

    return re.sub(r"\$\{([^}]+)\}", one, text)


def strings(node: object) -> Iterator[str]:
    """Every string anywhere in the template (keys excluded), user data included."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)


def user_data(template: dict) -> str:
    """The launch template's user data script, before Fn::Sub."""
    data = template["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    return data["UserData"]["Fn::Base64"]["Fn::Sub"]
