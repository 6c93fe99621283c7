"""An embedded MongoDB-compatible server (SecantusDB) for `make dev` and the tests.

Dev/test only: SecantusDB is GPL-2.0 and never deployed; production uses MONGODB_URI.
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
