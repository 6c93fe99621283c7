"""An embedded MongoDB-compatible server (SecantusDB) for `make dev` and the tests.

Dev/test only: SecantusDB is GPL-2.0 and never deployed; production uses MONGODB_URI.

Why the local URI turns retryable writes off (issue 20). SecantusDB 0.7.0b3 (the
newest on PyPI) keeps each retryable write's reply for 30 minutes, at most 10,000
of them, so that a retried write is answered, not applied twice. On every such
write it prunes that record map twice (`secantus/transactions.py`,
`_prune_retryable_locked`): a scan of all records for stale ones and, once there
are 10,000, a sort of all of them to drop the oldest. So the cost of a write grows
with the writes of the last 30 minutes and stays at its worst from 10,000 on.
Measured: a single-document `$inc` through pymongo fell from ~750 to ~60 ops/s over
12,000 writes with retryable writes, and held ~1,100 ops/s without them. Again here
on a fresh in-memory server each (2 cores shared, load 6-8, so only the trend
means something): with retryWrites=true 225 -> 49 ops/s after 10,000 writes (22%
of the start); with retryWrites=false 600 -> 434 ops/s (72%), and sampled every
2,500 writes up to 20,000 it moved between 193 and 742 ops/s with no trend
(load 12). `python -m bench.embedded_writes` prints the start and after-10,000 rates.

The remedy applied: retryWrites=false here only. Nothing of ours depends on a
retried write (a local server has no failover or network blips to retry over;
transactions retry through `with_transaction` either way), and production URIs
keep retryable writes on (tests/unit/test_database_setup.py). The fix to offer
upstream: keep the records in insertion order (an OrderedDict; times only grow)
and pop from the front while the oldest is stale or the map is over its cap, which
makes pruning O(1) per write instead of a scan and a sort.

Also found, not changed: the server runs a thread per connection and slows as
they grow (a debit loop ran 205/s on one connection and 63/s on 200). pymongo opens
connections only as concurrent threads need them, so only the concurrency tests
and benches open many. Each benchmark scenario runs on a fresh server
(bench/__main__.py), so no figure depends on the history another one left.
"""

from __future__ import annotations

import socket
from pathlib import Path

# Only for this server: production URIs (Atlas) keep retryable writes on.
LOCAL_URI_OPTIONS = "directConnection=true&retryWrites=false"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(storage_path: str | Path = ":memory:", port: int | None = None, ttl_sweep_seconds: int = 60):
    """Start the server in this process; returns (server, uri)."""
    from secantus import SecantusDBServer

    if storage_path != ":memory:":
        Path(storage_path).mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    server = SecantusDBServer(host="127.0.0.1", port=port, storage_path=str(storage_path), ttl_sweep_seconds=ttl_sweep_seconds)
    server.start()
    return server, f"mongodb://127.0.0.1:{port}/?{LOCAL_URI_OPTIONS}"
