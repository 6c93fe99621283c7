"""The HTTP client of the SentiSight call, on the standard library's http.client.

Why not urllib3 or requests: a cold vision function's first request pays for
the client's import, and `import urllib3` costs ~14 ms here (`requests` ~27
ms more) against ~1 ms for `http.client` once pymongo has loaded `ssl` and
`socket` (`python -m bench.cold_start`). The call needs little: a request,
connect and read timeouts, a total deadline, a size cap, gzip, and a warm
function reusing its TLS connection. That much is here; nothing else is (no
proxies, no redirects, no retries: callers decide). Stripe keeps its own
client: stripe-python requires `requests` and loads it at import anyway.
"""

from __future__ import annotations

import http.client
import select
import ssl
import threading
import time
import zlib
from urllib.parse import urlsplit

CHUNK_BYTES = 64 * 1024
MAX_IDLE = 16  # per host: the local dev server runs every function in one threaded process

_idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}
_lock = threading.Lock()
_tls: ssl.SSLContext | None = None


class Unreachable(Exception):
    """No connection, or it broke before a whole answer arrived."""


class TimedOut(Exception):
    """Connect or read timeout, or the call's total deadline passed."""


class TooLarge(Exception):
    """The (decoded) answer is over the size cap."""


def request(method: str, url: str, body: bytes | None, headers: dict, *, connect_timeout: float, read_timeout: float,
            max_bytes: int) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, decoded body); the read timeout bounds each read and the whole call."""
    deadline = time.monotonic() + read_timeout
    parts = urlsplit(url)
    key = (parts.scheme, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn = _checkout(key, connect_timeout)
    sock = conn.sock  # getresponse drops conn.sock when the server will close; the answer still reads from it
    try:
        sock.settimeout(read_timeout)
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = _read(response, sock, deadline, max_bytes)
    except BaseException as exc:
        conn.close()  # a connection left mid-answer is never reused
        if isinstance(exc, TimeoutError):
            raise TimedOut(type(exc).__name__) from None
        if isinstance(exc, (OSError, http.client.HTTPException, zlib.error)):
            raise Unreachable(type(exc).__name__) from None
        raise
    if response.will_close:
        conn.close()
    else:
        _checkin(key, conn)
    return response.status, {name.lower(): value for name, value in response.getheaders()}, data


def _context() -> ssl.SSLContext:
    """Built once per process: loading the CA bundle is the slow part."""
    global _tls
    if _tls is None:
        import certifi  # the bundle requests would use, so the trust store doesn't depend on the host

        _tls = ssl.create_default_context(cafile=certifi.where())
    return _tls


def _checkout(key: tuple[str, str, int], connect_timeout: float) -> http.client.HTTPConnection:
    with _lock:
        idle = _idle.get(key, [])
        while idle:
            conn = idle.pop()
            if not _dropped(conn):
                return conn
            conn.close()
    scheme, host, port = key
    if scheme == "https":
        conn = http.client.HTTPSConnection(host, port, timeout=connect_timeout, context=_context())
    else:
        conn = http.client.HTTPConnection(host, port, timeout=connect_timeout)
    try:
        conn.connect()  # the TLS handshake too, within the connect timeout
    except TimeoutError as exc:
        raise TimedOut(f"connect: {type(exc).__name__}") from None
    except OSError as exc:  # refused, unresolvable, unreachable, a bad certificate
        raise Unreachable(f"connect: {type(exc).__name__}") from None
    return conn


def _checkin(key: tuple[str, str, int], conn: http.client.HTTPConnection) -> None:
    with _lock:
        idle = _idle.setdefault(key, [])
        if len(idle) < MAX_IDLE:
            idle.append(conn)
            return
    conn.close()


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """An idle keep-alive connection with something to read has been closed by the server."""
    if conn.sock is None:
        return True
    try:
        readable, _, _ = select.select([conn.sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _read(response: http.client.HTTPResponse, sock, deadline: float, max_bytes: int) -> bytes:
    """The whole body, gunzipped, within the deadline and the cap.

    read1 returns after one socket read, each given at most the time left, so
    a server dripping bytes is cut off at the deadline instead of holding the
    function past Vercel's limit.
    """
    encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise Unreachable(f"unrequested Content-Encoding {encoding!r}")
    gunzip = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16) if encoding == "gzip" else None
    chunks, size = [], 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimedOut("total deadline passed while reading the body")
        sock.settimeout(left)
        raw = response.read1(CHUNK_BYTES)  # b"" at the end of the body
        data = raw
        if gunzip is not None:
            # At most one byte past the cap comes out, so a small bomb never fills the memory.
            data = gunzip.decompress(raw, max_bytes + 1 - size) if raw else gunzip.flush()
        size += len(data)
        if size > max_bytes:
            raise TooLarge(f"over {max_bytes} bytes")
        chunks.append(data)
        if not raw:
            response.close()  # read1 doesn't mark the answer done; the connection needs that to send again
            return b"".join(chunks)
