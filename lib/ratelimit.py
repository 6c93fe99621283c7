"""Fixed-window counters in MongoDB; a TTL index removes windows once they end."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from lib import db
from lib.digest import sha256_hex
from lib.errors import rate_limited

clock = time.time  # the windows' clock; tests pin it away from window edges


def _window(key: str, window_seconds: int, now: float) -> tuple[str, int]:
    start = int(now // window_seconds) * window_seconds
    return window_id(key, window_seconds, now), start + window_seconds


def window_id(key: str, window_seconds: int, now: float) -> str:
    """The counter document's id for `key` in the window holding `now` (keys hold emails/IPs: hashed)."""
    start = int(now // window_seconds) * window_seconds
    return f"{sha256_hex(key)[:32]}:{start}"


def hit(key: str, window_seconds: int, now: float | None = None) -> tuple[int, int]:
    """Count one event in the current window; returns (count so far, window reset time)."""
    now = clock() if now is None else now
    doc_id, reset = _window(key, window_seconds, now)
    update = {"$inc": {"count": 1}, "$setOnInsert": {"expires_at": datetime.fromtimestamp(reset, UTC)}}
    for _ in range(2):  # two first hits may race on the upsert: the loser retries as an update
        try:
            doc = db.collection("ratelimits").find_one_and_update(
                {"_id": doc_id}, update, upsert=True, return_document=ReturnDocument.AFTER
            )
            if doc is None:
                # The embedded dev server (SecantusDB) sometimes answers racing upserts with no document,
                # though it applied the $inc: read the count back rather than counting twice.
                doc = db.collection("ratelimits").find_one({"_id": doc_id}, {"count": 1})
            return doc["count"], reset
        except DuplicateKeyError:
            continue
    raise RuntimeError("rate limit counter could not be updated")


def release(key: str, window_seconds: int, now: float) -> None:
    """Take back one event counted by `hit(key, window_seconds, now)` with the same `now` (same window)."""
    doc_id, _ = _window(key, window_seconds, now)
    db.collection("ratelimits").update_one({"_id": doc_id, "count": {"$gt": 0}}, {"$inc": {"count": -1}})


def count(key: str, window_seconds: int, now: float | None = None) -> tuple[int, int]:
    now = clock() if now is None else now
    doc_id, reset = _window(key, window_seconds, now)
    doc = db.collection("ratelimits").find_one({"_id": doc_id}, {"count": 1})
    return (doc["count"] if doc else 0), reset


def enforce(key: str, limit: int, window_seconds: int, message: str = "Too many requests. Try again later.") -> None:
    """Count this request and refuse it (429 with Retry-After) once over the limit."""
    used, reset = hit(key, window_seconds)
    if used > limit:
        raise rate_limited(reset - clock(), message)


def attempt(key: str, limit: int, window_seconds: int, message: str):
    """Count a password attempt before checking it; returns `succeeded()` to take it back.

    Counting first means a burst of parallel guesses can't all slip in under the
    limit; taking successes back keeps the window a count of failures.
    """
    now = clock()
    used, reset = hit(key, window_seconds, now)
    if used > limit:
        raise rate_limited(reset - now, message)
    return lambda: release(key, window_seconds, now)
