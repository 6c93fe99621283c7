"""`nexuspoint predict` over a folder of N images at -j 1 and at -j 8, against the real dev server.

The dev server (`python -m local.serve`, a subprocess on the bench's embedded
database) runs the models on the zero-latency fake SentiSight, so the figures
are what the client, the HTTP layer and the debit cost, not a model's time. The
installed CLI runs as a subprocess with a live API token, exactly as a customer
runs it; each concurrency gets its own copy of the folder (the CLI derives its
idempotency keys from the file's path, so the second run is not a replay of the
first). Calls/s is wall-clock from the command's start to its exit, start-up included.

    python -m bench.client_throughput [N]
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from bson import ObjectId

from bench import _setup
from bench._setup import Figure
from lib import credits, db
from tests.fixtures.dev_server import DevServer

IMAGES = 200
CONCURRENCIES = (1, 8)
MODEL = "general-classification"  # 1 credit, the simplest answer
CLI = Path(sys.executable).with_name("nexuspoint")


def _live_token(server: DevServer, images: int) -> str:
    """A new account over HTTP, topped up for every call of every run, and a live API token of it."""
    browser = requests.Session()
    browser.headers["Origin"] = server.url
    r = browser.post(f"{server.url}/api/auth/register", timeout=30, json={
        "first_name": "Bench", "last_name": "Client", "email": f"client-{time.time_ns()}@example.com", "password": _setup.PASSWORD,
        "age_confirmed": True})
    assert r.status_code == 201, r.text
    db.use_database(server.db_name)
    try:
        db.collection("users").update_one({"_id": ObjectId(r.json()["user"]["id"])}, {"$set": {"email_verified": True}})  # as the link would
        credits.grant(ObjectId(r.json()["user"]["id"]), images * len(CONCURRENCIES), "purchase", payment_id=ObjectId())
    finally:
        db.use_database(None)
    r = browser.post(f"{server.url}/api/tokens", json={"name": "bench client"}, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["token"]["secret"]


def _folder(root: Path, name: str, images: int) -> Path:
    folder = root / name
    folder.mkdir()
    for i in range(images):
        (folder / f"img{i:04d}.png").write_bytes(_setup.image_bytes(size=(64 + i % 32, 48)))
    return folder


def _run_cli(server: DevServer, token: str, folder: Path, jobs: int) -> tuple[float, int, int]:
    """(wall seconds, ok lines, credits charged) of one `nexuspoint predict` over the folder."""
    out = folder.with_suffix(".jsonl")
    started = time.perf_counter()
    done = subprocess.run([str(CLI), "predict", MODEL, str(folder), "-j", str(jobs), "-o", str(out), "-q",
                           "--base-url", server.url, "--api-key", token], capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"nexuspoint predict -j {jobs} exited {done.returncode}: {done.stderr.strip()[-300:]}")
    records = [json.loads(line) for line in out.read_text().splitlines()]
    return wall, sum(1 for r in records if r["ok"]), sum(r["credits_charged"] for r in records)


def run(images: int = IMAGES) -> list[Figure]:
    _setup.stack()  # the embedded database and the fake SentiSight the dev server inherits
    print(f"`nexuspoint predict {MODEL}` over {images} images, against the dev server on the zero-latency fake SentiSight")
    root = Path(tempfile.mkdtemp(prefix="nexuspoint-bench-client-"))
    rates: dict[int, float] = {}
    figures: list[Figure] = []
    try:
        with DevServer(_setup.stack().uri) as server:
            token = _live_token(server, images)
            for jobs in CONCURRENCIES:
                wall, ok, charged = _run_cli(server, token, _folder(root, f"j{jobs}", images), jobs)
                rates[jobs] = images / wall
                print(f"  -j {jobs:<2} {ok}/{images} ok in {wall:5.1f} s: {rates[jobs]:6.1f} calls/s, {charged} credits charged")
                figures.append(Figure(f"client throughput -j {jobs} ({images} images): calls/s", f"{rates[jobs]:.1f} calls/s"))
                figures.append(Figure(f"client throughput -j {jobs}: charged == images", f"{charged} charged, {ok} ok", "exact",
                                      ok == images and charged == images))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    first, last = CONCURRENCIES[0], CONCURRENCIES[-1]
    ratio = rates[last] / rates[first]
    print(f"  -j {last} / -j {first}: {ratio:.2f}x")
    figures.append(Figure(f"client throughput -j {last} / -j {first}", f"{ratio:.2f}x"))
    return figures


if __name__ == "__main__":
    _setup.run_alone(lambda: run(int(sys.argv[1]) if len(sys.argv) > 1 else IMAGES))
