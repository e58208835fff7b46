"""Turn the rounds of measurements into tables: medians per endpoint, same-run ratios, where the CPU went."""

from __future__ import annotations

from collections.abc import Callable
from statistics import median

from bench.load import Measurement, Scenario

Rounds = list[dict[str, Measurement]]
ORIGINAL = {"get10": (1144, 6.2, 0.86), "post": (1184, 6.2, 0.83)}  # performance.md: req/s, p50 ms, CPU ms
ORIGINAL_GET_1000_RPS = 94.5


def table(headers: list[str], rows: list[list[str]]) -> tuple[str, str]:
    """The same table as aligned text (for the terminal) and as markdown."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    def line(cells: list[str]) -> str:
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths,
                                                                                                    strict=True)))
    text = "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])
    md = "\n".join(["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|",
                    *("| " + " | ".join(str(c) for c in r) + " |" for r in rows)])
    return text, md


def _med(rounds: Rounds, key: str, value: Callable[[Measurement], float]) -> float | None:
    values = [value(r[key]) for r in rounds if key in r]
    return median(values) if values else None


def _ratio(rounds: Rounds, top: str, bottom: str, value: Callable[[Measurement], float]) -> float | None:
    """Median over rounds of the ratio within each round (A and B measured side by side)."""
    values = [value(r[top]) / value(r[bottom]) for r in rounds if top in r and bottom in r and value(r[bottom])]
    return median(values) if values else None


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def results_table(rounds: Rounds, scenarios: dict[str, Scenario]) -> tuple[str, str]:
    """Median per endpoint: throughput, latency, CPU, DynamoDB requests, memory."""
    headers = ["endpoint", "emulator", "req/s", "p50 ms", "p99 ms", "app CPU ms/req", "DynamoDB req/call",
               "errors", "worker RSS MiB", "JWKS fetches / workers booted"]
    rows = []
    for key, scenario in scenarios.items():
        if not any(key in r for r in rounds):
            if key == "page":  # measured unless the page is missing: say so in the table
                rows.append([scenario.title, scenario.emulator_name, *["n/a"] * 8])
            continue
        last = [r[key] for r in rounds if key in r][-1]
        jwks = "-" if last.jwks_fetches is None else f"{last.jwks_fetches} / {last.workers_booted}"
        rows.append([scenario.title, scenario.emulator_name, _fmt(_med(rounds, key, lambda m: m.rps), 0),
                     _fmt(_med(rounds, key, lambda m: m.p50_ms)), _fmt(_med(rounds, key, lambda m: m.p99_ms)),
                     _fmt(_med(rounds, key, lambda m: m.app_cpu_ms)),
                     _fmt(_med(rounds, key, lambda m: m.dynamodb_per_call), 3),
                     str(sum(r[key].errors for r in rounds if key in r)),
                     _fmt(max(r[key].worker_rss_mb for r in rounds if key in r), 1), jwks])
    return table(headers, rows)


def cpu_table(rounds: Rounds, scenarios: dict[str, Scenario]) -> tuple[str, str]:
    """Where the CPU went, per request (medians), and how busy the machine's cores were."""
    headers = ["endpoint", "app", "nginx", "emulator", "counting proxy", "wrk", "cores busy (these)",
               "cores busy (other processes)"]
    rows = []
    for key, scenario in scenarios.items():
        if not any(key in r for r in rounds):
            continue
        parts = [lambda m: m.app_cpu_ms, lambda m: m.edge_cpu_ms, lambda m: m.emulator_cpu_ms,
                 lambda m: m.proxy_cpu_ms, lambda m: m.wrk_cpu_ms]
        busy = _med(rounds, key, lambda m: m.rps * (m.app_cpu_ms + m.edge_cpu_ms + m.emulator_cpu_ms
                                                    + m.proxy_cpu_ms + m.wrk_cpu_ms) / 1000)
        others = _med(rounds, key, lambda m: m.others_cores)
        rows.append([scenario.title, *(_fmt(_med(rounds, key, part)) for part in parts), _fmt(busy), _fmt(others)])
    return table(headers, rows)


def _check(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "NO")


def targets_table(rounds: Rounds) -> tuple[str, str]:
    """The targets of performance.md and issue 5, from this run's same-round ratios."""
    lat = _ratio(rounds, "get10k10", "get10", lambda m: m.p50_ms)
    cpu = _ratio(rounds, "get10k10", "get10", lambda m: m.app_cpu_ms)
    lat20 = _ratio(rounds, "get10k", "get10", lambda m: m.p50_ms)
    cpu20 = _ratio(rounds, "get10k", "get10", lambda m: m.app_cpu_ms)
    tput = _ratio(rounds, "get10k", "floor", lambda m: m.rps)
    get_cpu = _med(rounds, "get10", lambda m: m.app_cpu_ms)
    floor_cpu = _med(rounds, "floor", lambda m: m.app_cpu_ms)
    rps10, rps10k = _med(rounds, "get10", lambda m: m.rps), _med(rounds, "get10k", lambda m: m.rps)
    calls = {key: _med(rounds, key, lambda m: m.dynamodb_per_call)
             for key in ("get10", "get10k", "post", "postkey", "page")}

    def le(value: float | None, bound: float) -> bool | None:
        return None if value is None else value <= bound

    def ge(value: float | None, bound: float) -> bool | None:
        return None if value is None else value >= bound

    def near(value: float | None, target: int) -> bool | None:
        return None if value is None else abs(value - target) < 0.02

    rows = [
        ["GET p50 latency, 10,000 ÷ 10 orders (both 10 a page)", _fmt(lat), "≤ 1.1 (spec), ≤ 1.3 (issue 5)",
         _check(le(lat, 1.1))],
        ["GET app CPU/request, 10,000 ÷ 10 orders (both 10 a page)", _fmt(cpu), "≤ 1.1", _check(le(cpu, 1.1))],
        ["same, default page (20 orders ÷ 10): p50; CPU", f"{_fmt(lat20)}; {_fmt(cpu20)}", "(page size, not history)",
         "-"],
        ["GET throughput, Pizza 42 ÷ floor (10,000 orders)", _fmt(tput), "≥ 0.85", _check(ge(tput, 0.85))],
        ["app CPU per GET /api/orders (10 orders)", f"{_fmt(get_cpu)} ms (floor {_fmt(floor_cpu)} ms)", "≤ 1.5 ms",
         _check(le(get_cpu, 1.5))],
        ["GET req/s (10 orders) ÷ original's (1,144)", _fmt(rps10 / 1144 if rps10 else None), "≥ 1",
         _check(ge(rps10 / 1144 if rps10 else None, 1))],
        ["GET req/s (10,000 orders) ÷ original's at 1,000 (94.5)",
         _fmt(rps10k / ORIGINAL_GET_1000_RPS if rps10k else None, 1), "≥ 10",
         _check(ge(rps10k / ORIGINAL_GET_1000_RPS if rps10k else None, 10))],
        # The history page also reads its session (one GetItem; a touch at most once a minute per session).
        *([f"DynamoDB requests per call, {name}", _fmt(calls[key], 3), str(target), _check(near(calls[key], target))]
          for key, name, target in (("get10", "GET page (10)", 1), ("get10k", "GET page (10,000)", 1),
                                    ("post", "POST", 1), ("postkey", "POST + Idempotency-Key", 1),
                                    ("page", "history page (session + Query)", 2))),
    ]
    return table(["check", "measured", "target", "met"], rows)


def rounds_table(rounds: Rounds) -> tuple[str, str]:
    """Every measurement, in the order taken, for the record."""
    rows = [[str(i + 1), m.key, _fmt(m.rps, 0), _fmt(m.p50_ms), _fmt(m.p99_ms), _fmt(m.app_cpu_ms),
             _fmt(m.dynamodb_per_call, 3), ", ".join(f"{op} {n}" for op, n in sorted(m.dynamodb_ops.items())),
             str(m.errors)]
            for i, r in enumerate(rounds) for m in r.values()]
    return table(["round", "scenario", "req/s", "p50 ms", "p99 ms", "app CPU ms", "DynamoDB/call",
                  "emulator saw", "errors"], rows)


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+,.2f}"


def _diff(rounds: Rounds, top: str, bottom: str, value: Callable[[Measurement], float]) -> float | None:
    """Median over rounds of the difference within each round (A and B measured side by side)."""
    values = [value(r[top]) - value(r[bottom]) for r in rounds if top in r and bottom in r]
    return median(values) if values else None


def edge_table(rounds: Rounds) -> tuple[str, str]:
    """The extra hop: GET /api/orders straight to gunicorn (get10) and through nginx over HTTPS (edge)."""
    def cpu(m: Measurement) -> float:
        return m.app_cpu_ms + m.edge_cpu_ms

    rows = []
    for key, title in (("get10", "straight to gunicorn (HTTP)"), ("edge", "through nginx (HTTPS, HTTP/1.1)")):
        rows.append([title, _fmt(_med(rounds, key, lambda m: m.rps), 0), _fmt(_med(rounds, key, lambda m: m.p50_ms)),
                     _fmt(_med(rounds, key, lambda m: m.p99_ms)), _fmt(_med(rounds, key, lambda m: m.app_cpu_ms)),
                     _fmt(_med(rounds, key, lambda m: m.edge_cpu_ms)), _fmt(_med(rounds, key, cpu))])
    rows.append(["the hop (same-round ratio or difference)",
                 _fmt(_ratio(rounds, "edge", "get10", lambda m: m.rps)) + "x",
                 _signed(_diff(rounds, "edge", "get10", lambda m: m.p50_ms)),
                 _signed(_diff(rounds, "edge", "get10", lambda m: m.p99_ms)),
                 _signed(_diff(rounds, "edge", "get10", lambda m: m.app_cpu_ms)),
                 _signed(_med(rounds, "edge", lambda m: m.edge_cpu_ms)),
                 _signed(_diff(rounds, "edge", "get10", cpu))])
    return table(["GET /api/orders, 10 orders", "req/s", "p50 ms", "p99 ms", "app CPU ms/req", "nginx CPU ms/req",
                  "app + nginx CPU ms/req"], rows)
