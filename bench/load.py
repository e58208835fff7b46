"""One measurement: wrk against one endpoint, with CPU, DynamoDB requests and memory counted around it."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

from bench.procs import BENCH, Service, tree_cpu, worker_rss_mb

WRK = "/usr/bin/wrk"
THREADS, CONNECTIONS = 2, 8
SETTLE = 0.5  # seconds
ACCESS_LINE = b'"logger":"pizza42.access"'  # the app's one access line per request (gunicorn's log is off)


@dataclass(frozen=True)
class Proxy:
    """A counting proxy in front of an emulator: its process and its stats URL."""

    service: Service
    url: str  # where the app sends its DynamoDB requests
    stats_url: str

    def counts(self) -> Counter[str]:
        """DynamoDB requests seen so far, by operation ("Query"), and the emulator's non-200 answers ("HTTP 400")."""
        with urllib.request.urlopen(self.stats_url, timeout=5) as answer:
            return Counter({key.split(".")[-1]: n for key, n in json.load(answer).items()})


@dataclass(frozen=True)
class Scenario:
    """What to load: an app (gunicorn master), a URL, the wrk script's arguments, and what sits behind it."""

    key: str
    title: str
    app: Service
    url: str
    script_args: list[str]  # the wrk script's mode ("get"/"post") and its values; run_wrk adds a nonce
    emulator: Service
    emulator_name: str
    proxy: Proxy
    jwks_fetches: Callable[[], int] | None = None  # the issuer's JWKS fetch count, when the app has one
    before: Callable[[], None] | None = None  # run before each measurement (e.g. reset moto's table)
    edge: psutil.Process | None = None  # nginx in front of the app, when the scenario goes through it


@dataclass
class Measurement:
    """The figures of one wrk run."""

    key: str
    requests: int  # completed, as wrk counts them
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    served: int  # as the app's access log counts them (includes requests wrk abandoned when it stopped)
    app_cpu_ms: float
    emulator_cpu_ms: float
    proxy_cpu_ms: float
    wrk_cpu_ms: float
    dynamodb_per_call: float
    edge_cpu_ms: float = 0.0  # nginx's CPU per request, when the scenario goes through it
    others_cores: float = 0.0  # CPU used meanwhile by processes not ours (the machine is shared), in cores
    dynamodb_ops: dict[str, int] = field(default_factory=dict)
    worker_rss_mb: float = 0.0
    workers_booted: int = 0
    jwks_fetches: int | None = None

    @property
    def rps(self) -> float:
        """Requests completed per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


def _cpu(service: Service) -> float:
    return tree_cpu(service.process).seconds


def _machine_busy() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def run_wrk(scenario: Scenario, duration: int) -> Measurement:
    """Load the scenario's URL with wrk for `duration` seconds and account for everything around it."""
    argv = [WRK, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{duration}s", "-s", str(BENCH / "load.lua"),
            scenario.url, "--", scenario.script_args[0], uuid.uuid4().hex[:8], *scenario.script_args[1:]]
    if scenario.before:
        scenario.before()
    before_ops = scenario.proxy.counts()
    app0, emu0, proxy0 = _cpu(scenario.app), _cpu(scenario.emulator), _cpu(scenario.proxy.service)
    edge0 = tree_cpu(scenario.edge).seconds if scenario.edge else 0.0
    wrk0, busy0, wall0 = _children_cpu(), _machine_busy(), time.monotonic()  # wrk: our only child reaped meanwhile
    log0 = scenario.app.log_size()
    result = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30, check=False)
    wrk1 = _children_cpu()
    time.sleep(SETTLE)  # requests still in flight when wrk stopped finish (and are logged and counted)
    busy1, wall1 = _machine_busy(), time.monotonic()
    logged = scenario.app.count_since(log0, ACCESS_LINE)
    app1, emu1, proxy1 = _cpu(scenario.app), _cpu(scenario.emulator), _cpu(scenario.proxy.service)
    edge1 = tree_cpu(scenario.edge).seconds if scenario.edge else 0.0
    ops = scenario.proxy.counts() - before_ops
    calls = sum(n for op, n in ops.items() if not op.startswith("HTTP "))
    ours = (app1 - app0) + (emu1 - emu0) + (proxy1 - proxy0) + (wrk1 - wrk0) + (edge1 - edge0)
    line = next((x for x in result.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    stats = json.loads(line.removeprefix("BENCH_JSON "))
    done = max(stats["requests"], 1)
    # The app's own count (wrk does not count the requests it abandoned at the end); the floor app writes
    # no access line, so wrk's count stands in for it there.
    served = logged or done
    errors = sum(stats[k] for k in ("connect", "read", "write", "status", "timeout"))
    rss = worker_rss_mb(scenario.app.process)
    return Measurement(
        key=scenario.key, requests=stats["requests"], seconds=stats["duration_us"] / 1e6,
        p50_ms=stats["p50_us"] / 1000, p99_ms=stats["p99_us"] / 1000, errors=errors,
        served=served, app_cpu_ms=(app1 - app0) * 1000 / served, emulator_cpu_ms=(emu1 - emu0) * 1000 / served,
        proxy_cpu_ms=(proxy1 - proxy0) * 1000 / served, wrk_cpu_ms=(wrk1 - wrk0) * 1000 / done,
        edge_cpu_ms=(edge1 - edge0) * 1000 / served,
        dynamodb_per_call=calls / served, dynamodb_ops=dict(ops),
        others_cores=max(0.0, (busy1 - busy0) - ours) / (wall1 - wall0),
        worker_rss_mb=max(rss, default=0.0), workers_booted=scenario.app.log_count("Booting worker"),
        jwks_fetches=scenario.jwks_fetches() if callable(scenario.jwks_fetches) else None,
    )


def machine() -> dict[str, str]:
    """What this ran on: cores, CPU model, Python, memory."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), model)
    except OSError:
        pass
    return {"nproc": str(len(os.sched_getaffinity(0))), "cpu": model, "python": platform.python_version(),
            "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB", "kernel": platform.release()}
