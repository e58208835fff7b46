"""Alarms on what customers feel, each telling the SNS topic, each with its threshold explained; the log group
keeps its lines for a set time and receives what the CloudWatch agent ships; the dashboard shows the alarms."""

from __future__ import annotations

import json
import re

import pytest

from pizza42.observability import metrics
from pizza42.orders.store import OrderStore
from pizza42.sessions.store import SessionStore
from tests.deploy.cfn import TEMPLATE as TEMPLATE_PATH
from tests.deploy.cfn import load_template, resources_of_type, substitute, user_data

TEMPLATE = load_template()
ALARMS = resources_of_type(TEMPLATE, "AWS::CloudWatch::Alarm")
TOPIC = {"Ref": "AlarmTopic"}


def alarmed_metrics(alarm: dict) -> list[tuple[str, str, dict]]:
    """(namespace, metric, dimensions) of every metric an alarm reads, directly or through metric math."""
    props = alarm["Properties"]
    stats = [query["MetricStat"]["Metric"] for query in props.get("Metrics", []) if "MetricStat" in query]
    if "MetricName" in props:
        stats.append(props)
    return [(m["Namespace"], m["MetricName"], {d["Name"]: d["Value"] for d in m.get("Dimensions", [])})
            for m in stats]


def alarms_on(metric: str, **dimensions: object) -> list[str]:
    """The alarms reading `metric` with (at least) these dimensions."""
    return [name for name, alarm in ALARMS.items()
            if any(m == metric and dimensions.items() <= dims.items() for _, m, dims in alarmed_metrics(alarm))]


def test_every_alarm_tells_the_topic_when_it_fires_and_when_it_clears():
    assert len(ALARMS) >= 12
    for name, alarm in ALARMS.items():
        assert alarm["Properties"]["AlarmActions"] == [TOPIC], name
        assert alarm["Properties"]["OKActions"] == [TOPIC], name


def test_every_alarm_has_its_threshold_explained_in_a_comment_beside_it():
    lines = TEMPLATE_PATH.read_text().splitlines()
    for name in ALARMS:
        at = lines.index(f"  {name}:")
        assert lines[at - 1].strip().startswith("#"), name
        assert "RUNBOOK.md" in ALARMS[name]["Properties"]["AlarmDescription"], name


def test_every_alarm_is_quiet_without_data():
    # The app's counters are absent, not 0, when nothing happened; a quiet night is not an outage.
    assert {a["Properties"]["TreatMissingData"] for a in ALARMS.values()} == {"notBreaching"}


def test_metric_math_refers_only_to_its_own_queries_and_returns_one_series():
    for name, alarm in ALARMS.items():
        queries = alarm["Properties"].get("Metrics")
        if not queries:
            continue
        ids = {q["Id"] for q in queries}
        assert [q["ReturnData"] for q in queries].count(True) == 1, name
        for query in queries:
            if "Expression" in query:
                used = set(re.findall(r"\b[a-z][a-z0-9_]*\b", query["Expression"])) - {"if"}
                assert used and used <= ids - {query["Id"]}, (name, used)


def test_the_alb_5xx_rate_counts_the_albs_and_the_targets_5xx_over_all_requests():
    (name,) = alarms_on("HTTPCode_ELB_5XX_Count")
    assert name in alarms_on("HTTPCode_Target_5XX_Count") and name in alarms_on("RequestCount")
    expression = next(q["Expression"] for q in ALARMS[name]["Properties"]["Metrics"] if q.get("ReturnData"))
    assert "/ requests" in expression


def test_p99_latency_and_unhealthy_hosts_are_alarmed():
    (latency,) = alarms_on("TargetResponseTime")
    assert ALARMS[latency]["Properties"]["ExtendedStatistic"] == "p99"
    (unhealthy,) = alarms_on("UnHealthyHostCount")
    dimensions = alarmed_metrics(ALARMS[unhealthy])[0][2]
    assert set(dimensions) == {"LoadBalancer", "TargetGroup"}


@pytest.mark.parametrize("table", ["OrdersTable", "SessionsTable"])
@pytest.mark.parametrize("metric", ["ThrottledRequests", "SystemErrors"])
def test_each_table_has_throttle_and_system_error_alarms_over_the_apps_operations(table, metric):
    (name,) = alarms_on(metric, TableName={"Ref": table})
    operations = {dims["Operation"] for _, m, dims in alarmed_metrics(ALARMS[name]) if m == metric}
    assert {"GetItem", "Query", "PutItem", "UpdateItem", "TransactWriteItems"} <= operations


def _indexes() -> list[tuple[str, str]]:
    orders = OrderStore(None, "t").table_definition()["GlobalSecondaryIndexes"]
    sessions = SessionStore(None, "t", idle_seconds=1, lifetime_seconds=1).table_definition()["GlobalSecondaryIndexes"]
    return [("OrdersTable", i["IndexName"]) for i in orders] + [("SessionsTable", i["IndexName"]) for i in sessions]


@pytest.mark.parametrize(("table", "index"), _indexes())
def test_each_index_of_the_apps_tables_has_a_throttle_alarm(table, index):
    dimensions = {"TableName": {"Ref": table}, "GlobalSecondaryIndexName": index}
    assert alarms_on("ReadThrottleEvents", **dimensions) == alarms_on("WriteThrottleEvents", **dimensions) != []


@pytest.mark.parametrize("metric", ["DynamoDBUnavailable", "LoginsFailed"])
def test_the_apps_own_metrics_are_alarmed_under_the_names_the_app_emits(metric):
    assert metric in metrics.COUNTERS
    (name,) = alarms_on(metric)
    namespace, _, dimensions = alarmed_metrics(ALARMS[name])[0]
    assert (namespace, dimensions) == (metrics.NAMESPACE, {"Service": metrics.SERVICE})


# -- logs and dashboard --------------------------------------------------------------------------

def test_every_log_group_keeps_its_lines_for_a_set_time():
    groups = resources_of_type(TEMPLATE, "AWS::Logs::LogGroup")
    assert groups
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert TEMPLATE["Parameters"]["LogRetentionDays"]["Default"] in (
        TEMPLATE["Parameters"]["LogRetentionDays"]["AllowedValues"])


def test_the_agent_ships_the_apps_json_lines_to_the_stacks_log_group():
    script = substitute(user_data(TEMPLATE), {**{p: "x" for p in TEMPLATE["Parameters"]},
                                              "OrdersTable": "o", "SessionsTable": "s", "AppLogGroup": "GROUP"})
    config = json.loads(script.split("amazon-cloudwatch-agent.json <<'JSON'\n", 1)[1].split("\nJSON\n", 1)[0])
    files = {f["file_path"]: f["log_group_name"] for f in config["logs"]["logs_collected"]["files"]["collect_list"]}
    assert files["/var/log/pizza42/app.log"] == "GROUP"
    assert set(files.values()) == {"GROUP"}
    # ... where systemd writes the app's stdout (its JSON and EMF lines).
    assert "StandardOutput=append:/var/log/pizza42/app.log" in script


def test_the_dashboard_shows_every_alarm():
    body = TEMPLATE["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
    assert {f"${{{name}.Arn}}" for name in ALARMS} <= set(re.findall(r"\$\{\w+\.Arn\}", body))
    names = {p: "x" for p in TEMPLATE["Parameters"]} | {f"{n}.Arn": "arn" for n in ALARMS}
    names |= {"Lb": "lb", "Tg": "tg", "OrdersTable": "o", "SessionsTable": "s", "AppLogGroup": "g",
              "AutoScalingGroup": "asg"}
    assert json.loads(substitute(body, names))["widgets"]


def test_every_alarm_names_a_runbook_entry_that_exists():
    runbook = (TEMPLATE_PATH.parents[1] / "RUNBOOK.md").read_text()
    entries = set(re.findall(r"^\*\*([\w ]+)\*\*(?: \(`[^)]*\))? —", runbook, re.M))
    for name, alarm in ALARMS.items():
        (section,) = re.findall(r'RUNBOOK\.md, "([^"]+)"', alarm["Properties"]["AlarmDescription"])
        assert section in entries, (name, section)
    # ... and each throttle and system error alarm is named in its entry.
    for name in ALARMS:
        assert f"`{name.removesuffix('Alarm')}`" in runbook or name.removesuffix("Alarm") + "**" in runbook, name
    assert "## Direct DynamoDB path escape hatch" in runbook
