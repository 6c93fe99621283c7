"""`make bench`: every benchmark scenario in turn, then one table of the figures, with targets where there are any.

Figures are printed, never pass/fail: a "NOT MET" row is a finding to read,
and the exit code is 0 either way. Each scenario runs on a fresh embedded
database server (the stack is stopped after every scenario), so no figure
depends on what ran before it: SecantusDB slows down with its own history
(see local/embedded_db.py). A scenario is a function returning a list of
Figures; add one by adding a line to SCENARIOS. Run one alone with
`python -m bench.<name>`, or `python -m bench --only NAME ...`.

    python -m bench [--only NAME ...] [--cold-start-runs N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench import _setup, analytics_scale, client_throughput, cold_start, concurrency, embedded_writes, overhead, page_weight, round_trips
from bench._setup import Figure

SCENARIOS = {
    "round_trips": round_trips.run,
    "overhead": overhead.run,
    "cold_start": cold_start.run,
    "embedded_writes": embedded_writes.run,
    "concurrency": concurrency.run,
    "analytics_scale": analytics_scale.run,
    "page_weight": page_weight.run,
    "client_throughput": client_throughput.run,
}


def run_scenario(name: str, run) -> list[Figure]:
    """One scenario on a fresh embedded server; a broken one becomes a failed row, not a crash."""
    started = time.perf_counter()
    print(f"\n== {name}", flush=True)
    try:
        return run()
    except Exception as exc:  # one broken bench must not hide the others' figures
        print(f"  {name} failed: {type(exc).__name__}: {exc}")
        return [Figure(f"{name}: failed", f"{type(exc).__name__}: {str(exc)[:80]}", "runs", False)]
    finally:
        _setup.shutdown()  # the next scenario starts its own server
        print(f"   ({name}: {time.perf_counter() - started:.0f} s)", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(SCENARIOS), help="run these scenarios only")
    parser.add_argument("--cold-start-runs", type=int, default=cold_start.DEFAULT_RUNS, help="cold starts per function (median shown)")
    args = parser.parse_args(argv)
    scenarios = {**SCENARIOS, "cold_start": lambda: cold_start.run(args.cold_start_runs)}
    # Every figure here is wall-clock on a shared machine: say how busy it was.
    print(f"{os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.1f}")
    figures: list[Figure] = []
    for name in args.only or SCENARIOS:
        figures += run_scenario(name, scenarios[name])
    load = os.getloadavg()
    _setup.print_table(figures, f"NexusPoint benchmarks ({os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
