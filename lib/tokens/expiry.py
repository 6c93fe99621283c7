"""The scheduled job that mails a token's owner 7 days before a live token expires, once per token.

A token due a warning carries `warn_at` (set with its expiry, lib/tokens/fields.py).
Each warning is claimed by removing `warn_at` in one conditional update before the
mail goes out, so two runs at once, or a run repeated, never mail twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo import ReturnDocument

from lib import db, mail

BATCH = 200  # per run; the rest wait for the next run


def clock() -> datetime:
    """Now; tests move it forward to the week before an expiry."""
    return datetime.now(UTC)


def send_expiry_warnings() -> dict:
    """Mail every warning now due; returns {"mailed": n}."""
    now = clock()
    tokens = db.collection("tokens")
    due = {"warn_at": {"$lte": now}, "expires_at": {"$gt": now}, "active": True, "mode": {"$ne": "test"}}
    mailed = 0
    for candidate in tokens.find(due, {"_id": 1}).limit(BATCH):
        token = tokens.find_one_and_update({"_id": candidate["_id"], **due}, {"$set": {"warn_at": None, "warned_at": now}},
                                           projection={"user_id": 1, "name": 1, "prefix": 1, "expires_at": 1},
                                           return_document=ReturnDocument.AFTER)
        if token is None:
            continue  # another run claimed it, or it changed meanwhile
        user = db.collection("users").find_one({"_id": token["user_id"], "disabled": {"$ne": True}},
                                                {"email": 1, "first_name": 1, "notifications": 1})
        if user and mail.send(user["email"], "token_expiring", prefs=user.get("notifications"), first_name=user.get("first_name", ""),
                              token_name=token["name"], token_prefix=token["prefix"],
                              expires_at=token["expires_at"].strftime("%Y-%m-%d %H:%M UTC")):
            mailed += 1
    return {"mailed": mailed}
