"""Cold import time of each function: what a Vercel cold start pays before the first request.

Each `api/**.py` route is imported in a fresh interpreter (one warm-up run
to compile bytecode, then the median of 5), timed around the import itself.
One more run under `-X importtime` names the three top-level packages that
cost the most (self time summed over each package's modules). A vision
function that imports `stripe` or `boto3` is flagged: those belong to
billing and mail, not to the path of every model call.

    python -m bench.cold_start [--runs N] [api/health.py ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = "--bench-import-starts--"
UNWANTED_IN_VISION = ("stripe", "boto3")

# Runs in the fresh interpreter: time the import of one file, report the modules it loaded.
PROBE = f"""
import sys, time
import importlib.util as _u
before = set(sys.modules)
sys.stderr.write({MARKER!r} + "\\n")
t0 = time.perf_counter()
spec = _u.spec_from_file_location("bench_target", sys.argv[1])
spec.loader.exec_module(_u.module_from_spec(spec))
ms = (time.perf_counter() - t0) * 1000
import json
print(json.dumps({{"ms": ms, "modules": sorted(set(sys.modules) - before)}}))
"""


def function_files(root: Path = ROOT) -> list[Path]:
    """The deployed functions: every api/**.py route (files and folders starting with `_` are not)."""
    files = []
    for file in sorted((root / "api").rglob("*.py")):
        rel = file.relative_to(root / "api")
        if "__pycache__" in rel.parts or any(part.startswith("_") for part in rel.parts):
            continue
        files.append(file)
    return files


def _probe(file: Path, env: dict, importtime: bool = False) -> tuple[dict, str, float]:
    args = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", PROBE, str(file)]
    started = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    wall = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr, wall


def heaviest_packages(importtime_log: str, top: int = 3) -> list[tuple[str, float]]:
    """Self import time (ms) summed per top-level package, for imports after the marker."""
    totals: dict[str, float] = defaultdict(float)
    lines = importtime_log.splitlines()
    if MARKER in lines:
        lines = lines[lines.index(MARKER) + 1:]
    for line in lines:
        if not line.startswith("import time:") or "|" not in line:
            continue
        self_us, _cumulative, name = line[len("import time:"):].split("|", 2)
        if not self_us.strip().isdigit():
            continue  # the column header
        totals[name.strip().split(".")[0]] += int(self_us) / 1000
    return sorted(totals.items(), key=lambda kv: -kv[1])[:top]


def _bare_interpreter_ms(env: dict) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], cwd=ROOT, env=env, check=True, timeout=60)
    return (time.perf_counter() - started) * 1000


def measure(file: Path, runs: int, env: dict) -> dict:
    _probe(file, env)  # warm-up: writes the bytecode caches a deployment would ship with
    samples, walls, modules = [], [], []
    for _ in range(runs):
        result, _, wall = _probe(file, env)
        samples.append(result["ms"])
        walls.append(wall)
        modules = result["modules"]
    _, log, _ = _probe(file, env, importtime=True)
    return {
        "import_ms": statistics.median(samples),
        "process_ms": statistics.median(walls),
        "modules": modules,
        "heaviest": heaviest_packages(log),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per file (the median is shown)")
    parser.add_argument("files", nargs="*", help="function files (default: every api/**.py route)")
    args = parser.parse_args(argv)
    files = [Path(f).resolve() for f in args.files] or function_files()
    # Local settings, with secrets written to a throwaway directory rather than .data/.
    env = {k: v for k, v in os.environ.items() if k != "VERCEL_ENV"}
    env.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="nexuspoint-bench-"))

    print(f"Cold import of each function in a fresh interpreter (Python {sys.version.split()[0]}, median of {args.runs})")
    print("import = the import of the file alone; process = interpreter start + import + exit\n")
    width = max([len(str(f.relative_to(ROOT))) for f in files] + [len("(python -c pass)")])
    baseline = statistics.median(_bare_interpreter_ms(env) for _ in range(args.runs))
    print(f"{'(python -c pass)':<{width}}  {'':>9}  {baseline:10.1f}  the interpreter alone, for scale")
    print(f"{'file':<{width}}  {'import ms':>9}  {'process ms':>10}  heaviest top-level packages (self ms)")
    flags = []
    for file in files:
        name = str(file.relative_to(ROOT))
        try:
            m = measure(file, args.runs, env)
        except Exception as exc:
            print(f"{name:<{width}}  {'error':>9}  {'':>10}  {exc}")
            continue
        heavy = ", ".join(f"{pkg} {ms:.1f}" for pkg, ms in m["heaviest"])
        print(f"{name:<{width}}  {m['import_ms']:9.1f}  {m['process_ms']:10.1f}  {heavy}", flush=True)
        if file.parent == ROOT / "api" / "vision":
            loaded = {mod.split(".")[0] for mod in m["modules"]}
            flags += [f"{name} imports {pkg}" for pkg in UNWANTED_IN_VISION if pkg in loaded]
    print()
    if flags:
        print("FLAGGED: vision functions should not import billing or mail SDKs:")
        for flag in flags:
            print(f"  {flag}")
    else:
        print("No vision function imports stripe or boto3.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
