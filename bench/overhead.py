"""What NexusPoint adds to a model call: the full app vs the same request sent straight to the fake.

Both sides send the same PNG to the same zero-latency fake SentiSight over the
same kind of connection, so the difference is our work: routing, auth, input
checks, the debit (lib/credits/calls.py), normalizing and the request log, on the
embedded database. The two are interleaved call by call, so load from other
processes hits both alike.

    python -m bench.overhead [calls]
"""

from __future__ import annotations

import sys
import time

from bench import _setup
from bench._setup import Figure
from lib import config
from lib.vision import catalog
from lib.vision import sentisight as sentisight_backend

CALLS = 300
WARM_UP = 10


def _direct_call(image: bytes):
    """The request lib.vision.sentisight would send, without anything of ours around it."""
    settings = config.settings()
    model = catalog.get("general-classification")
    return sentisight_backend.pool().request(
        "POST", f"{settings.sentisight_base_url}/pm-predict/{model.sentisight_name}", body=image,
        headers={"X-Auth-token": settings.sentisight_api_token, "Content-Type": "application/octet-stream", "Accept": "application/json"},
        timeout=10,
    )


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def run(calls: int = CALLS) -> list[Figure]:
    _setup.fresh_database("overhead")
    c, _ = _setup.signed_in(credits_to_add=calls + WARM_UP + 10)
    image = _setup.png()

    def through_app():
        r = _setup.vision_call(c, image)
        assert r.status_code == 200, r.text

    def direct():
        r = _direct_call(image)
        assert r.status == 200, r.data

    for _ in range(WARM_UP):
        through_app()
        direct()
    app_ms, direct_ms = [], []
    for _ in range(calls):
        app_ms.append(_timed(through_app))
        direct_ms.append(_timed(direct))
    p = {name: (_setup.percentile(s, 50), _setup.percentile(s, 95)) for name, s in (("app", app_ms), ("direct", direct_ms))}
    print(f"Overhead over {calls} interleaved calls (dashboard call through the router vs straight to the fake SentiSight)")
    for name in ("app", "direct"):
        print(f"  {name:<7} p50 {p[name][0]:7.1f} ms   p95 {p[name][1]:7.1f} ms")
    ratio = p["app"][0] / p["direct"][0]
    added = p["app"][0] - p["direct"][0]
    print(f"  ratio p50 {ratio:.1f}x, NexusPoint adds {added:.1f} ms at p50")
    return [
        Figure("overhead: vision call via app p50 / p95", f"{p['app'][0]:.1f} / {p['app'][1]:.1f} ms"),
        Figure("overhead: straight to fake p50 / p95", f"{p['direct'][0]:.1f} / {p['direct'][1]:.1f} ms"),
        Figure("overhead: ratio app / direct (p50)", f"{ratio:.1f}x (+{added:.1f} ms)"),
    ]


if __name__ == "__main__":
    _setup.run_alone(lambda: run(int(sys.argv[1]) if len(sys.argv) > 1 else CALLS))
