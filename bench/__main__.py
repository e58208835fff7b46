"""`make bench`: Pizza 42 under gunicorn (and behind nginx) against DynamoDB emulators and a local issuer, with wrk.

    .venv/bin/python -m bench [--duration 10] [--rounds 3] [--gunicorn-arg=--max-requests=0 …]

Prints the tables and writes them as markdown to bench/out/results.md (see bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import datetime
import signal
import sys
import time
from contextlib import ExitStack
from types import FrameType

import requests

from bench import report
from bench.environment import Bench, start
from bench.load import Measurement, machine, run_wrk
from bench.procs import OUT

ORDER = ["get10", "edge", "get10k10", "get10k", "floor", "health", "post", "postkey", "page"]


def say(message: str) -> None:
    """Progress on stderr, so stdout is just the tables."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # SIGINT too: a background job starts ignoring it


def _stop_on_signal(signum: int, frame: FrameType | None) -> None:
    for other in _SIGNALS:  # a second Ctrl-C must not cut the clean-up short
        signal.signal(other, signal.SIG_IGN)
    raise KeyboardInterrupt  # unwinds the ExitStack: every process we started is stopped


def check(bench: Bench) -> str | None:
    """One request per scenario, checked, before any load; returns why the history page is n/a, if it is."""
    sc = bench.scenarios

    def get(key: str, **kwargs: object) -> requests.Response:
        name, value = sc[key].script_args[1].split(": ", 1)
        return requests.get(sc[key].url, headers={name: value}, timeout=10, allow_redirects=False, **kwargs)

    small, large, large10 = get("get10").json(), get("get10k").json(), get("get10k10").json()
    through_edge = get("edge", verify=str(bench.edge_certificate))
    assert through_edge.json()["orders"] == small["orders"], f"nginx: {through_edge.status_code} {through_edge.text}"
    assert len(small["orders"]) == 10 and small["customer_profile"]["total_orders"] == 10, small
    assert len(large10["orders"]) == 10 and large10["orders"] == large["orders"][:10], large10
    assert len(large["orders"]) == 20 and large["next_cursor"], large
    assert large["customer_profile"]["total_orders"] == 10_000, large["customer_profile"]
    assert len(get("floor").json()) == 22
    token = sc["post"].script_args[1]
    answer = requests.post(sc["post"].url, json={"pizza": "Margherita", "size": "medium", "quantity": 1},
                           headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "bench-check"}, timeout=10)
    assert answer.status_code == 201, answer.text
    page = get("page")
    if page.status_code != 200:
        return f"GET /orders answered {page.status_code} to the seeded session's cookie"
    assert "<dd>10000</dd>" in page.text.replace(",", ""), "the history page does not show the 10,000 orders"
    # Send back a cookie the app set, as a browser would (it sets one only when it issues a new session id).
    cookie = page.cookies.get("session")
    if cookie:
        sc["page"].script_args[1] = f"Cookie: session={cookie}"
    return None


def measure(bench: Bench, keys: list[str], rounds: int, duration: int, warmup: int) -> report.Rounds:
    """Warm every scenario up, then rounds of all of them, alternating the order (A B …, then … B A)."""
    for key in keys:
        say(f"warm-up {key} ({warmup} s)")
        run_wrk(bench.scenarios[key], warmup)
    results: report.Rounds = []
    for n in range(rounds):
        this: dict[str, Measurement] = {}
        for key in keys if n % 2 == 0 else list(reversed(keys)):
            say(f"round {n + 1}/{rounds}: {key} ({duration} s)")
            this[key] = run_wrk(bench.scenarios[key], duration)
        results.append({key: this[key] for key in keys})
    return results


def render(bench: Bench, results: report.Rounds, page_na: str | None, args: argparse.Namespace) -> str:
    """Every table, printed and returned as markdown."""
    host = machine()
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = (f"{when}; {host['nproc']} cores ({host['cpu']}), {host['memory']}, Python {host['python']}, "
            f"Linux {host['kernel']}; wrk -t2 -c8 -d{args.duration}s, {args.rounds} rounds (medians); "
            f"gunicorn.conf.py with WEB_CONCURRENCY=2 GUNICORN_THREADS=4"
            + (f" plus {' '.join(args.gunicorn_arg)}" if args.gunicorn_arg else ""))
    sections = [("Results (medians)", report.results_table(results, bench.scenarios)),
                ("Targets (same-run ratios: median over rounds of each round's ratio)", report.targets_table(results)),
                ("CPU ms per request, by process (medians)", report.cpu_table(results, bench.scenarios)),
                ("Edge: the cost of nginx in front (same-run)", report.edge_table(results)),
                ("Every measurement", report.rounds_table(results))]
    print(head)
    markdown = [f"Run: {head}", ""]
    if page_na:
        print(f"history page: n/a ({page_na})")
        markdown += [f"History page: n/a ({page_na}).", ""]
    for title, (text, md) in sections:
        print(f"\n{title}\n{text}")
        markdown += [f"### {title}", "", md, ""]
    return "\n".join(markdown)


def main(argv: list[str] | None = None) -> int:
    """Start everything, check it, measure, print, stop everything (also on Ctrl-C)."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every scenario (default 3)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per scenario (default 2)")
    parser.add_argument("--only", nargs="*", choices=ORDER, help="measure only these scenarios")
    parser.add_argument("--gunicorn-arg", action="append", default=[],
                        help="extra gunicorn option for an experiment, e.g. --gunicorn-arg=--max-requests=0")
    args = parser.parse_args(argv)
    for signum in _SIGNALS:
        signal.signal(signum, _stop_on_signal)
    started = time.monotonic()
    try:
        with ExitStack() as stack:
            bench = start(stack, say, args.gunicorn_arg)
            page_na = check(bench)
            keys = [k for k in (args.only or ORDER) if not (k == "page" and page_na)]
            results = measure(bench, keys, args.rounds, args.duration, args.warmup)
            say("stopping everything…")
    except KeyboardInterrupt:
        say("interrupted: everything started has been stopped")
        return 130
    markdown = render(bench, results, page_na, args)
    OUT.mkdir(exist_ok=True)
    (OUT / "results.md").write_text(markdown + "\n")
    say(f"done in {time.monotonic() - started:.0f} s; markdown in {OUT / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
