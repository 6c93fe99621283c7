"""`make bench`: every benchmark in turn, then one table of the figures, with targets where there are any.

Figures are printed, never pass/fail: a "NOT MET" row is a finding to read,
and the exit code is 0 either way. Run one bench alone with
`python -m bench.<name>` (round_trips, overhead, cold_start, concurrency,
analytics_scale, page_weight).

    python -m bench [--only NAME ...] [--cold-start-runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench import _setup, analytics_scale, cold_start, concurrency, overhead, page_weight, round_trips
from bench._setup import Figure, at_most

COLD_START_TARGET_MS = 150


def cold_start_figures(runs: int = 3) -> list[Figure]:
    """bench.cold_start's measurement of every function, summed up against the 150 ms target."""
    env = {k: v for k, v in os.environ.items() if k != "VERCEL_ENV"}
    env["DATA_DIR"] = tempfile.mkdtemp(prefix="nexuspoint-bench-")
    print(f"Cold import of each function in a fresh interpreter (median of {runs}; details: python -m bench.cold_start)")
    bare = statistics.median(_process_ms([sys.executable, "-c", "pass"], env) for _ in range(runs))
    print(f"  (python -c pass: {bare:.0f} ms for the interpreter alone, for scale)")
    timings, flagged = {}, []
    for file in cold_start.function_files():
        name = str(file.relative_to(cold_start.ROOT))
        m = cold_start.measure(file, runs, env)
        timings[name] = m["import_ms"]
        heavy = ", ".join(f"{pkg} {ms:.0f}" for pkg, ms in m["heaviest"])
        print(f"  {name:<40} {m['import_ms']:7.1f} ms   heaviest: {heavy}", flush=True)
        if file.parent.name == "vision":
            loaded = {mod.split(".")[0] for mod in m["modules"]}
            flagged += [f"{name} imports {pkg}" for pkg in cold_start.UNWANTED_IN_VISION if pkg in loaded]
    slowest = max(timings, key=timings.get)
    over = sorted(n for n, ms in timings.items() if ms > COLD_START_TARGET_MS)
    for line in flagged:
        print(f"  FLAGGED: {line}")
    return [
        Figure("cold start: bare interpreter start (for scale)", f"{bare:.0f} ms"),
        at_most(f"cold start: slowest import ({slowest})", timings[slowest], COLD_START_TARGET_MS, "ms"),
        Figure("cold start: functions over 150 ms", f"{len(over)} of {len(timings)}; fastest {min(timings.values()):.0f} ms, median "
               f"{sorted(timings.values())[len(timings) // 2]:.0f} ms", "0", not over),
        Figure("cold start: vision functions importing stripe/boto3", "; ".join(flagged) or "none", "none", not flagged),
    ]


def _process_ms(args: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(args, env=env, check=True, timeout=60)
    return (time.perf_counter() - started) * 1000


BENCHES = {
    "round_trips": round_trips.run,
    "overhead": overhead.run,
    "cold_start": cold_start_figures,
    "concurrency": concurrency.run,
    "analytics_scale": analytics_scale.run,
    "page_weight": page_weight.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(BENCHES), help="run these benches only")
    parser.add_argument("--cold-start-runs", type=int, default=3, help="timed imports per function (median shown)")
    args = parser.parse_args(argv)
    figures: list[Figure] = []
    # Every figure here is wall-clock on a shared machine: say how busy it was.
    print(f"{os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.1f}")
    try:
        for name in args.only or BENCHES:
            started = time.perf_counter()
            print(f"\n== {name}", flush=True)
            try:
                figures += cold_start_figures(args.cold_start_runs) if name == "cold_start" else BENCHES[name]()
            except Exception as exc:  # one broken bench must not hide the others' figures
                print(f"  {name} failed: {type(exc).__name__}: {exc}")
                figures.append(Figure(f"{name}: failed", f"{type(exc).__name__}: {str(exc)[:80]}", "runs", False))
            print(f"   ({name}: {time.perf_counter() - started:.0f} s)", flush=True)
    finally:
        _setup.shutdown()
    load = os.getloadavg()
    _setup.print_table(figures, f"NexusPoint benchmarks ({os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
