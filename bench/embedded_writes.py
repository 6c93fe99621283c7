"""The embedded server's single-document write rate, at the start and after 10,000 writes.

SecantusDB keeps a record of every retryable write and scans them on each
write (local/embedded_db.py has the story and the figures). The local URI
turns retryable writes off, so the rate should hold; this bench shows whether
it does: `$inc` on one document through lib.db's client, on a fresh server.

    python -m bench.embedded_writes [writes]
"""

from __future__ import annotations

import sys
import time

from bench import _setup
from bench._setup import Figure
from lib import db

HISTORY = 10_000
SAMPLE = 500  # writes timed at each end


def write_rate(coll, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        coll.update_one({"_id": "counter"}, {"$inc": {"n": 1}})
    return n / (time.perf_counter() - started)


def run(history: int = HISTORY) -> list[Figure]:
    _setup.fresh_database("embedded_writes")
    coll = db.collection("bench_counter")
    coll.insert_one({"_id": "counter", "n": 0})
    options = db.client().options
    print(f"Single-document $inc through lib.db's client (retryWrites={options.retry_writes}, "
          f"maxPoolSize={options.pool_options.max_pool_size}), fresh server; machine shared with other work")
    first = write_rate(coll, SAMPLE)
    write_rate(coll, history - SAMPLE)
    later = write_rate(coll, SAMPLE)
    print(f"  first {SAMPLE} writes: {first:6.0f} ops/s")
    print(f"  after {history:,} writes: {later:6.0f} ops/s ({later / first:.0%} of the start)")
    return [
        Figure("embedded db: single-doc write rate at start", f"{first:.0f} ops/s"),
        Figure(f"embedded db: write rate after {history:,} writes", f"{later:.0f} ops/s ({later / first:.0%})",
               ">= 50% of start", later >= first / 2),
    ]


if __name__ == "__main__":
    _setup.run_alone(lambda: run(int(sys.argv[1]) if len(sys.argv) > 1 else HISTORY))
