"""The app's CloudWatch metrics, as Embedded Metric Format (EMF) members of the lines it already writes.

Each request's access line IS an EMF document: `_aws` metadata naming the metrics, `Service` (and `Outcome`)
as dimensions, `Requests` 1, `Latency` its milliseconds, and each counter an event of this request moved
(`OrdersPlaced` 1, `DynamoDBRetries` 2, ...). The CloudWatch agent (or CloudWatch Logs) extracts them; the
request path makes no AWS call and writes no extra line. A counter moved outside any request (a CLI
command's DynamoDB retry) gets an EMF line of its own at once (logger `pizza42.metrics`).

The contract (the CloudFormation alarms depend on it): namespace `Pizza42`, every metric with the dimension
set [Service] (`Service` = `pizza42`), `Requests` also with [Service, Outcome] (`Outcome` = 2xx, 3xx, 4xx,
5xx); `Latency` in Milliseconds, the counters below in Count. A counter that did not move is absent from a
line (no datapoint, not a 0): alarms on them treat missing data as not breaching. No metric, dimension or
property names a customer: the lines' other members are the access line's (method, path with order ids
masked, status, duration, client address, request id), never an email, a sub, a token or an order id.

Why not the `aws-embedded-metrics` library: its `metric_scope` flushes each scope with
`asyncio.get_event_loop().run_until_complete(...)`, which raises in gunicorn's worker threads (no event
loop there); each scope is a line of its own (a second JSON line per request, doubling the logging CPU the
performance targets count); on EC2 it first probes the instance metadata service over aiohttp and then sends
to the agent's TCP socket rather than stdout. Here the metrics ride on the access line already paid for.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar

NAMESPACE = "Pizza42"
SERVICE = "pizza42"
COUNTERS = ("OrdersPlaced", "OrdersRefused", "LoginsSucceeded", "LoginsFailed", "DynamoDBRetries",
            "DynamoDBUnavailable", "JwksRefetches")

metrics_log = logging.getLogger("pizza42.metrics")
# This request's counters (None outside a request). gunicorn's threads each serve one request at a time, and
# a ContextVar is per thread, so no lock is needed.
_request_counts: ContextVar[dict[str, int] | None] = ContextVar("pizza42_request_counts", default=None)

_SERVICE_ONLY = [["Service"]]
_REQUESTS = {"Namespace": NAMESPACE, "Dimensions": [["Service"], ["Service", "Outcome"]],
             "Metrics": [{"Name": "Requests", "Unit": "Count"}]}
_LATENCY = {"Name": "Latency", "Unit": "Milliseconds"}
_COUNT_DEFINITIONS = {name: {"Name": name, "Unit": "Count"} for name in COUNTERS}
_OUTCOMES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}
# A request's metric directives by the counters it moved, built once per combination (most requests move none):
# the access line is on every request's path, and building these lists each time cost more than writing them.
_request_directives: dict[tuple[str, ...], list[dict]] = {}


def count(name: str, amount: int = 1) -> None:
    """Move a counter: onto this request's access line, or on a line of its own outside a request."""
    if name not in _COUNT_DEFINITIONS:
        raise ValueError(f"unknown metric {name!r}")
    counts = _request_counts.get()
    if counts is None:
        metrics_log.info("metrics %s", name, extra={"fields": counters_document({name: amount})})
    else:
        counts[name] = counts.get(name, 0) + amount


def start_request() -> tuple[dict[str, int], object]:
    """Open a request's counters; hand the second value back to end_request."""
    counts: dict[str, int] = {}
    return counts, _request_counts.set(counts)


def end_request(token: object) -> None:
    """Close the request's counters (later counts go on lines of their own)."""
    _request_counts.reset(token)  # type: ignore[arg-type]


def _timestamp() -> int:
    return int(time.time() * 1000)


def request_members(status: int, latency_ms: float, counts: dict[str, int]) -> dict:
    """The EMF members that make a request's access line an EMF document."""
    moved = tuple(counts)
    directives = _request_directives.get(moved)
    if directives is None:
        metrics = [_LATENCY, *(_COUNT_DEFINITIONS[name] for name in moved)]
        directives = _request_directives[moved] = [
            _REQUESTS, {"Namespace": NAMESPACE, "Dimensions": _SERVICE_ONLY, "Metrics": metrics}]
    members = {"_aws": {"Timestamp": _timestamp(), "CloudWatchMetrics": directives},
               "Service": SERVICE, "Outcome": _OUTCOMES.get(status // 100, "5xx"), "Requests": 1,
               "Latency": latency_ms}
    if counts:
        members.update(counts)
    return members


def counters_document(counts: dict[str, int]) -> dict:
    """An EMF document of counters alone (for events outside a request)."""
    definitions = [_COUNT_DEFINITIONS[name] for name in counts]
    return {"_aws": {"Timestamp": _timestamp(), "CloudWatchMetrics": [
        {"Namespace": NAMESPACE, "Dimensions": _SERVICE_ONLY, "Metrics": definitions}]},
        "Service": SERVICE, **counts}
