"""The check every Bearer request passes: one indexed command finds the token, stamps its use and
counts the request, and returns everything the call needs (mode, scope, cap, expiry)."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

from pymongo import ReturnDocument

from lib import config, db
from lib.caller import INVALID_TOKEN, Caller
from lib.digest import sha256_hex
from lib.errors import rate_limited, unauthorized

PREFIXES = {"live": "np_live_", "test": "np_test_"}
RATE_WINDOW_SECONDS = 60
CALLER_FIELDS = {"user_id": 1, "name": 1, "rl_count": 1, "mode": 1, "models": 1, "credit_limit": 1, "expires_at": 1}
clock = time.time  # the rate-limit clock; tests move it to pin a window


def digest(raw_token: str) -> str:
    return sha256_hex(raw_token)


def authenticate(req, raw_token: str) -> Caller:
    """Identify a Bearer caller and count the request against its token's limit.

    The user's own checks (exists, not disabled) come after, in load_user or
    folded into the vision debit.
    """
    now = clock()
    window_start = int(now // RATE_WINDOW_SECONDS) * RATE_WINDOW_SECONDS
    moment = datetime.fromtimestamp(now, UTC)
    token = _use(raw_token, datetime.fromtimestamp(window_start, UTC), moment)
    if token is None:
        raise unauthorized(INVALID_TOKEN, "invalid_token")
    req.log_extra["token_id"] = token["_id"]
    expires_at = token.get("expires_at")
    if expires_at is not None and expires_at <= moment:
        # A code of its own: the integrator should rotate the token, not debug their code.
        raise unauthorized(f"This API token expired at {expires_at.isoformat().replace('+00:00', 'Z')}. Create a new one in the dashboard.",
                           "token_expired")
    _enforce_rate_limit(req, token["rl_count"], window_start + RATE_WINDOW_SECONDS, now)
    return Caller(
        user_id=token["user_id"], source="api", token_id=token["_id"], token_name=token["name"],
        mode=token.get("mode", "live"), models=tuple(token.get("models") or ()),
        credit_limit=token.get("credit_limit"), expires_at=expires_at,
    )


def _use(raw_token: str, window_start: datetime, now: datetime) -> dict | None:
    """Find the active token by hash, stamp its last use and count this request, atomically."""
    if not raw_token.startswith(tuple(PREFIXES.values())):
        return None  # not one of ours: no need to ask the database
    return db.collection("tokens").find_one_and_update(
        {"hash": digest(raw_token), "active": True},
        # An update pipeline, so the new count can depend on the stored window:
        # a new minute starts again at 1, the same minute adds one.
        [{"$set": {
            "last_used_at": now,
            "rl_count": {"$cond": [{"$eq": ["$rl_window", window_start]}, {"$add": ["$rl_count", 1]}, 1]},
            "rl_window": window_start,
        }}],
        projection=CALLER_FIELDS,
        return_document=ReturnDocument.AFTER,
    )


def _enforce_rate_limit(req, used: int, reset_at: int, now: float) -> None:
    limit = config.settings().api_rate_limit_per_minute
    req.response_headers.update({
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(0, limit - used)),
        "X-RateLimit-Reset": str(reset_at),
    })
    if used > limit:
        wait = math.ceil(reset_at - now)
        raise rate_limited(wait, f"This token may make {limit} requests a minute. Try again in {wait} seconds.")
