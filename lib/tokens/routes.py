"""The dashboard's token routes (auth "session"): list, create (shown once), edit, delete."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from pymongo import ReturnDocument

from lib import db, mail, validation
from lib.caller import load_user, require_verified
from lib.errors import bad_request, conflict, not_found
from lib.tokens import fields, periods
from lib.tokens.check import PREFIXES, digest

DISPLAY_PREFIX_LENGTH = 12
MAX_PER_ACCOUNT = 10  # privacy policy §1.4: live and test tokens together
VIEW_FIELDS = {"name": 1, "prefix": 1, "created_at": 1, "last_used_at": 1, "active": 1,
               "mode": 1, "models": 1, "credit_limit": 1, "expires_at": 1}


def view(token: dict, user: dict, now: datetime) -> dict:
    """What the dashboard shows of a token: never its value or hash. `user` carries the cap's spend."""
    limit = token.get("credit_limit")
    if limit:
        spend = (user.get("token_spend") or {}).get(str(token["_id"]))
        limit = {**limit, "used": periods.used(spend, limit["period"], now), "resets_at": periods.resets_at(limit["period"], now)}
    expires_at = token.get("expires_at")
    return {
        "id": str(token["_id"]),
        "name": token["name"],
        "prefix": token["prefix"],
        "mode": token.get("mode", "live"),
        "models": token.get("models") or [],
        "credit_limit": limit,
        "expires_at": expires_at,
        "expired": expires_at is not None and expires_at <= now,
        "created_at": token["created_at"],
        "last_used_at": token.get("last_used_at"),
        "active": token["active"],
    }


def list_for(req) -> dict:
    user = load_user(req)  # already read by the endpoint: no extra command
    now = datetime.now(UTC)
    found = db.collection("tokens").find({"user_id": user["_id"]}, VIEW_FIELDS).sort("created_at", -1)
    return {"tokens": [view(t, user, now) for t in found], "limit": MAX_PER_ACCOUNT}


def create_for(req) -> dict:
    body = validation.only(req.json(), fields.CREATE_FIELDS)
    now = datetime.now(UTC)
    name, mode = fields.name(body), fields.mode(body)
    settings = {"models": fields.models(body), "credit_limit": fields.credit_limit(body),
                **fields.expiry_fields(fields.expires_at(body, now), now, mode)}
    user = load_user(req)
    require_verified(user)
    raw_token = PREFIXES[mode] + secrets.token_urlsafe(32)
    token = {
        "user_id": user["_id"], "name": name, "hash": digest(raw_token), "prefix": raw_token[:DISPLAY_PREFIX_LENGTH], "mode": mode,
        **settings, "created_at": now, "last_used_at": None, "active": True, "rl_window": None, "rl_count": 0,
    }
    if not _insert_within_limit(token):
        raise conflict("token_limit", f"An account can have at most {MAX_PER_ACCOUNT} API tokens. Delete one you no longer use first.",
                       limit=MAX_PER_ACCOUNT)
    mail.send(
        user["email"], "new_token", prefs=user.get("notifications"), first_name=user.get("first_name", ""),
        token_name=name, token_prefix=token["prefix"], created_at=now.strftime("%Y-%m-%d %H:%M UTC"),
        ip=req.client_ip or "unknown",
    )
    return {"token": {**view(token, user, now), "secret": raw_token}}


create_for.success_status = 201  # lib/http answers 201 Created


def update_for(req) -> dict:
    token_id = validation.object_id(req.query.get("id"), "token")
    body = req.json()
    if "mode" in body:
        raise bad_request("invalid_field", "A token's mode is fixed when it is created; create a new token for the other mode.", field="mode")
    body = validation.only(body, fields.EDIT_FIELDS)
    if not body:
        raise bad_request("missing_field", f"Send at least one of: {', '.join(sorted(fields.EDIT_FIELDS))}.")
    now = datetime.now(UTC)
    changes = {field: {"$literal": value} for field, value in _changes(body, now).items()}
    if "expires_at" in changes:
        # Only a live token gets the warning mail, and only the stored token knows its mode:
        # an update pipeline decides in the same command.
        warn_at = fields.expiry_fields(changes["expires_at"]["$literal"], now, "live")["warn_at"]
        changes["warn_at"] = {"$cond": [{"$eq": ["$mode", "test"]}, None, warn_at]}
    token = db.collection("tokens").find_one_and_update(
        {"_id": token_id, "user_id": req.caller.user_id}, [{"$set": changes}],
        projection=VIEW_FIELDS, return_document=ReturnDocument.AFTER,
    )
    if token is None:
        raise not_found("token")
    return {"token": view(token, load_user(req), now)}


def _changes(body: dict, now: datetime) -> dict:
    """Every field of the edit, validated before anything is written."""
    changes = {}
    if "name" in body:
        changes["name"] = fields.name(body)
    if "active" in body:
        changes["active"] = validation.boolean(body, "active", required=True)
    if "models" in body:
        changes["models"] = fields.models(body)
    if "credit_limit" in body:
        changes["credit_limit"] = fields.credit_limit(body)
    if "expires_at" in body:
        changes["expires_at"] = fields.expires_at(body, now)
    return changes


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
