"""API tokens: create (shown once), list, rename, pause, delete, and the check each Bearer request passes.

A token is `np_live_` + 32 random bytes (URL-safe base64). Only its SHA-256 is
stored, with a 12-character display prefix; the full value exists only in the
response that created it (privacy policy §1.4, §5).
"""

from __future__ import annotations

import math
import secrets
import time
from datetime import UTC, datetime

from pymongo import ReturnDocument

from lib import config, db, mail, validation
from lib.digest import sha256_hex
from lib.errors import bad_request, conflict, not_found, rate_limited, unauthorized
from lib.http import Caller, Response, load_user

PREFIX = "np_live_"
DISPLAY_PREFIX_LENGTH = 12
MAX_PER_ACCOUNT = 10  # privacy policy §1.4
NAME_MAX_LENGTH = 60
RATE_WINDOW_SECONDS = 60
INVALID_TOKEN = "Invalid API token."  # the same for unknown, paused, deleted tokens and disabled users
VIEW_FIELDS = {"name": 1, "prefix": 1, "created_at": 1, "last_used_at": 1, "active": 1}
clock = time.time  # the rate-limit clock; tests move it to pin a window


def digest(raw_token: str) -> str:
    return sha256_hex(raw_token)


def view(token: dict) -> dict:
    """What the dashboard shows of a token: never its value or hash."""
    return {
        "id": str(token["_id"]),
        "name": token["name"],
        "prefix": token["prefix"],
        "created_at": token["created_at"],
        "last_used_at": token.get("last_used_at"),
        "active": token["active"],
    }


# --- the check every Bearer request passes ---------------------------------

def authenticate(req, raw_token: str) -> Caller:
    """Identify a Bearer caller and count the request against its token's limit.

    One indexed command does it all; the user's own checks (exists, not
    disabled) come after, in load_user or folded into the vision debit.
    """
    now = clock()
    window_start = int(now // RATE_WINDOW_SECONDS) * RATE_WINDOW_SECONDS
    token = _use(raw_token, datetime.fromtimestamp(window_start, UTC), datetime.fromtimestamp(now, UTC))
    if token is None:
        raise unauthorized(INVALID_TOKEN, "invalid_token")
    req.log_extra["token_id"] = token["_id"]
    _enforce_rate_limit(req, token["rl_count"], window_start + RATE_WINDOW_SECONDS, now)
    return Caller(user_id=token["user_id"], source="api", token_id=token["_id"], token_name=token["name"])


def _use(raw_token: str, window_start: datetime, now: datetime) -> dict | None:
    """Find the active token by hash, stamp its last use and count this request, atomically."""
    if not raw_token.startswith(PREFIX):
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
        projection={"user_id": 1, "name": 1, "rl_count": 1},
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


# --- the dashboard's token routes (auth "session") --------------------------

def list_for(req) -> dict:
    found = db.collection("tokens").find({"user_id": req.caller.user_id}, VIEW_FIELDS).sort("created_at", -1)
    return {"tokens": [view(t) for t in found], "limit": MAX_PER_ACCOUNT}


def create_for(req) -> Response:
    body = validation.only(req.json(), {"name"})
    name = _name(body)
    user = load_user(req)
    raw_token = PREFIX + secrets.token_urlsafe(32)
    token = {
        "user_id": user["_id"], "name": name, "hash": digest(raw_token), "prefix": raw_token[:DISPLAY_PREFIX_LENGTH],
        "created_at": datetime.now(UTC), "last_used_at": None, "active": True, "rl_window": None, "rl_count": 0,
    }
    if not _insert_within_limit(token):
        raise conflict("token_limit", f"An account can have at most {MAX_PER_ACCOUNT} API tokens. Delete one you no longer use first.",
                       limit=MAX_PER_ACCOUNT)
    mail.send(
        user["email"], "new_token", prefs=user.get("notifications"), first_name=user.get("first_name", ""),
        token_name=name, token_prefix=token["prefix"], created_at=token["created_at"].strftime("%Y-%m-%d %H:%M UTC"),
        ip=req.client_ip or "unknown",
    )
    return Response.json({"token": {**view(token), "secret": raw_token}}, 201)


def update_for(req) -> dict:
    token_id = validation.object_id(req.query.get("id"), "token")
    body = validation.only(req.json(), {"name", "active"})
    changes = {}
    if "name" in body:
        changes["name"] = _name(body)
    active = validation.boolean(body, "active")
    if active is not None:
        changes["active"] = active
    if not changes:
        raise bad_request("missing_field", "Send a new 'name', 'active' (true to resume, false to pause), or both.")
    token = db.collection("tokens").find_one_and_update(
        {"_id": token_id, "user_id": req.caller.user_id}, {"$set": changes},
        projection=VIEW_FIELDS, return_document=ReturnDocument.AFTER,
    )
    if token is None:
        raise not_found("token")
    return {"token": view(token)}


def delete_for(req) -> None:
    token_id = validation.object_id(req.query.get("id"), "token")
    user_id = req.caller.user_id

    def callback(session):
        deleted = db.collection("tokens").delete_one({"_id": token_id, "user_id": user_id}, session=session).deleted_count
        if deleted:
            db.collection("users").update_one({"_id": user_id}, {"$inc": {"token_count": -1}}, session=session)
        return deleted

    if not db.transaction(callback):
        raise not_found("token")


def _name(body: dict) -> str:
    return validation.string(body, "name", max_len=NAME_MAX_LENGTH)  # single line: it goes into a mail


def _insert_within_limit(token: dict) -> bool:
    """Insert the token unless the account already has the maximum.

    Counting documents would race (two creates both see 9); instead the user's
    `token_count` moves by a conditional $inc in the same transaction as the
    insert, so concurrent creates conflict on the user document and the
    transaction retries see the new count.
    """

    def callback(session):
        counted = db.collection("users").update_one(
            {"_id": token["user_id"], "token_count": {"$not": {"$gte": MAX_PER_ACCOUNT}}},  # $not: a missing count is 0
            {"$inc": {"token_count": 1}}, session=session,
        )
        if not counted.modified_count:
            return False
        db.collection("tokens").insert_one(token, session=session)
        return True

    return db.transaction(callback)
