"""Sign-in throttle per account, across all IPs: growing delays after repeated failures.

The per email+IP limit in lib.accounts.login stops one machine; this one stops
a botnet trying one account from many addresses. Each attempt is counted
before the password is checked (a burst can't slip in between), a success
clears the count, and past FREE_FAILURES every failure doubles the wait before
the next attempt is allowed, up to MAX_DELAY. A sign-in from a network the
account signed in from lately skips it (lib/known_networks.py), so failing on
purpose cannot keep the owner out.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from pymongo.errors import DuplicateKeyError

from lib import db
from lib.digest import sha256_hex
from lib.errors import rate_limited

FREE_FAILURES = 10  # as many as one IP may try (lib.accounts.login), so a single machine meets that limit first
MAX_DELAY = timedelta(minutes=5)  # short enough that someone locking a victim out gains little
FORGET_AFTER = timedelta(days=1)  # the counter's TTL: a day without failures starts afresh
MESSAGE = "Too many failed sign-ins for this account. Wait a little and try again."


def key(email: str) -> str:
    """The counter's id in `ratelimits` (an email is personal: hashed)."""
    return f"signin:{sha256_hex(email)[:32]}"


def delay_after(failures: int) -> timedelta:
    if failures <= FREE_FAILURES:
        return timedelta(0)
    return min(timedelta(seconds=2 ** (failures - FREE_FAILURES)), MAX_DELAY)


def attempt(email: str):
    """Count one sign-in attempt on this account (429 while it must wait); returns `succeeded()` that clears it."""
    ratelimits = db.collection("ratelimits")
    doc_id = key(email)
    now = datetime.now(UTC)
    current = ratelimits.find_one({"_id": doc_id}) or {"failures": 0}
    if current.get("next_at") and current["next_at"] > now:
        raise rate_limited(math.ceil((current["next_at"] - now).total_seconds()), MESSAGE)
    failures = current["failures"] + 1
    update = {"failures": failures, "next_at": now + delay_after(failures), "expires_at": now + FORGET_AFTER}
    try:
        # Conditional on the count we read: of two racing attempts, only one is let through.
        result = ratelimits.update_one({"_id": doc_id, "failures": current["failures"]}, {"$set": update},
                                       upsert=current["failures"] == 0)
        claimed = bool(result.matched_count or result.upserted_id)
    except DuplicateKeyError:
        claimed = False
    if not claimed:
        raise rate_limited(1, MESSAGE)
    return lambda: ratelimits.delete_one({"_id": doc_id})
