"""CloudWatch's Embedded Metric Format (EMF) as a JSON Schema, and the checks a schema cannot express.

From AWS's "Specification: Embedded metric format" (CloudWatch User Guide): the root holds `_aws`, whose
`Timestamp` is epoch milliseconds and whose `CloudWatchMetrics` is an array of MetricDirectives; a directive
has a `Namespace`, `Dimensions` (an array of DimensionSets, each an array of at most 30 dimension names)
and `Metrics` (at most 100 MetricDefinitions: `Name`, optional `Unit` from CloudWatch's list, optional
`StorageResolution` 1 or 60). Every dimension a directive names MUST be a top-level string member, every
metric a top-level number or array of at most 100 numbers.
"""

from __future__ import annotations

import json

import jsonschema

UNITS = ["Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
         "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
         "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
         "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None"]

EMF_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/directive"}},
            },
        },
    },
    "$defs": {
        "directive": {
            "type": "object",
            "required": ["Namespace", "Dimensions", "Metrics"],
            "additionalProperties": False,
            "properties": {
                "Namespace": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[\x20-\x7e]+$"},
                "Dimensions": {"type": "array", "items": {
                    "type": "array", "maxItems": 30, "uniqueItems": True,
                    "items": {"type": "string", "minLength": 1, "maxLength": 255}}},
                "Metrics": {"type": "array", "maxItems": 100, "items": {
                    "type": "object", "required": ["Name"], "additionalProperties": False,
                    "properties": {"Name": {"type": "string", "minLength": 1, "maxLength": 255},
                                   "Unit": {"enum": UNITS}, "StorageResolution": {"enum": [1, 60]}}}},
            },
        },
    },
}
jsonschema.Draft202012Validator.check_schema(EMF_SCHEMA)
_VALIDATOR = jsonschema.Draft202012Validator(EMF_SCHEMA)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def emf_errors(document: dict) -> list[str]:
    """Why `document` is not a valid EMF document (empty when it is)."""
    errors = [error.message for error in _VALIDATOR.iter_errors(document)]
    if errors:
        return errors
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for dimension in {name for names in directive["Dimensions"] for name in names}:
            value = document.get(dimension)
            if not isinstance(value, str) or not 1 <= len(value) <= 1024:
                errors.append(f"dimension {dimension!r} is not a top-level string member: {value!r}")
        for metric in directive["Metrics"]:
            value = document.get(metric["Name"])
            values = value if isinstance(value, list) else [value]
            if not values or len(values) > 100 or not all(_is_number(v) for v in values):
                errors.append(f"metric {metric['Name']!r} is not a top-level number (or array of numbers): {value!r}")
    return errors


def assert_emf(document: dict) -> dict:
    """Fail unless `document` is a valid EMF document; return it."""
    errors = emf_errors(document)
    assert not errors, (errors, document)
    return document


def json_lines(text: str) -> list[dict]:
    """The JSON objects among the lines of some output."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def metric_documents(lines: list[dict]) -> list[dict]:
    """The lines that carry metrics (an `_aws` member), each checked against the EMF specification."""
    return [assert_emf(line) for line in lines if "_aws" in line]


def metric_values(document: dict, namespace: str = "Pizza42") -> dict[str, object]:
    """Every metric of `namespace` the document defines, by name, with its value."""
    return {metric["Name"]: document[metric["Name"]] for directive in document["_aws"]["CloudWatchMetrics"]
            if directive["Namespace"] == namespace for metric in directive["Metrics"]}
