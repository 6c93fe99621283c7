"""Load and inference time of each local vision model, on a generated 640x480 image.

Each model runs in a fresh interpreter, so "load" is what the first request after
a dev-server start pays (imports and model files), "first call" is the first
inference after it (lazy graph set-up), and "warm" is the median of 5 calls after
that: what every later request pays. Printed figures only, never pass/fail.

    python -m bench.local_models [--runs N] [slug ...]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from lib.vision.local import RUNNERS, SLUGS, LocalBackend, loader
from lib.vision.types import ImageInput, VisionError

ROOT = Path(__file__).resolve().parent.parent


def bench_image() -> bytes:
    """A 640x480 picture with shapes and a line of text, so every model has something to chew on."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.linear_gradient("L").resize((640, 480)).convert("RGB")
    draw = ImageDraw.Draw(img)
    draw.ellipse((380, 60, 600, 280), fill=(200, 60, 40))
    draw.rectangle((60, 300, 300, 440), fill=(40, 90, 200))
    draw.text((40, 40), "Invoice 2026-0042", fill="black", font=ImageFont.load_default(size=40))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def measure(slug: str, runs: int) -> dict:
    """Runs in the fresh interpreter: load, first call, then warm calls."""
    backend = LocalBackend()
    status = backend.availability()[slug]
    if not status["available"]:
        return {"slug": slug, "engine": status["engine"], "unavailable": status["reason"]}
    runner = RUNNERS[slug]
    image = ImageInput(data=bench_image())
    started = time.perf_counter()
    loader.get(runner.ENGINE, runner.load)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    backend.predict(slug, image, {})
    first_s = time.perf_counter() - started
    warm = []
    for _ in range(runs):
        started = time.perf_counter()
        backend.predict(slug, image, {})
        warm.append(time.perf_counter() - started)
    return {"slug": slug, "engine": runner.ENGINE, "load_s": load_s, "first_s": first_s, "warm_ms": statistics.median(warm) * 1000}


def run_isolated(slug: str, runs: int) -> dict:
    command = [sys.executable, "-m", "bench.local_models", "--child", "--runs", str(runs), slug]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return {"slug": slug, "engine": "?", "unavailable": f"bench crashed: {done.stderr.strip().splitlines()[-1:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("slugs", nargs="*", default=list(SLUGS))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        try:
            print(json.dumps(measure(args.slugs[0], args.runs)))
        except VisionError as exc:
            print(json.dumps({"slug": args.slugs[0], "engine": "?", "unavailable": exc.message}))
        return

    load = os.getloadavg()[0]  # other work on the machine slows BLAS-heavy models most
    print(f"local vision models: Python {platform.python_version()}, {os.cpu_count()} cores (load {load:.1f}), 640x480 PNG, warm = median of {args.runs}")
    print(f"{'model':<24} {'engine':<30} {'load s':>7} {'1st call s':>10} {'warm ms':>8}")
    for slug in args.slugs:
        row = run_isolated(slug, args.runs)
        if "unavailable" in row:
            print(f"{slug:<24} {row['engine']:<30} {'-':>7} {'-':>10} {'-':>8}  unavailable: {row['unavailable']}")
        else:
            print(f"{slug:<24} {row['engine']:<30} {row['load_s']:>7.2f} {row['first_s']:>10.2f} {row['warm_ms']:>8.0f}")


if __name__ == "__main__":
    main()
