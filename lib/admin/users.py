"""Admin: find people, see one person's account, change their role or disable them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pymongo import ReturnDocument

from lib import db, validation
from lib.accounts import public_view
from lib.admin import audit, newest_page
from lib.admin.lists import payment_view
from lib.errors import bad_request, conflict, not_found
from lib.http import load_user

ROLES = ("user", "admin")
RECENT_USAGE = 50
PAYMENTS_SHOWN = 100
LIST_FIELDS = {f: 1 for f in ("first_name", "last_name", "email", "company", "role", "credits", "disabled", "created_at")}


def summary_view(user: dict) -> dict:
    return {
        "id": user["_id"], "email": user.get("email"), "first_name": user.get("first_name", ""),
        "last_name": user.get("last_name", ""), "company": user.get("company") or "", "role": user.get("role", "user"),
        "credits": user.get("credits", 0), "disabled": bool(user.get("disabled")), "created_at": user.get("created_at"),
    }


def search(req) -> dict:
    """GET /api/admin/users?q=&page= — by email, name or company, newest accounts first."""
    q = validation.string(req.query, "q", max_len=100, min_len=0, required=False) or ""
    match = {}
    if q:
        # re.escape: the admin's text is matched literally, never run as a pattern.
        pattern = {"$regex": re.escape(q), "$options": "i"}
        match = {"$or": [{"email": pattern}, {"first_name": pattern}, {"last_name": pattern}, {"company": pattern}]}
        if re.fullmatch(r"[0-9a-fA-F]{24}", q):
            match["$or"].append({"_id": validation.object_id(q, "user")})
    # A search reads every user (an unanchored regex can't use an index); the plain list walks created_at.
    hint = None if q else [("created_at", 1)]
    rows, info = newest_page(db.collection("users"), match, req, hint=hint, projection=LIST_FIELDS)
    return {**info, "q": q, "users": [summary_view(u) for u in rows]}


def target_of(req) -> dict:
    uid = validation.object_id(req.query.get("id"), "user")
    user = db.collection("users").find_one({"_id": uid})
    if user is None:
        raise not_found("user")
    return user


def _token_view(t: dict) -> dict:
    return {"id": t["_id"], **{f: t.get(f) for f in ("name", "prefix", "created_at", "last_used_at", "active")}}


def _usage_view(r: dict) -> dict:
    fields = ("model", "credits", "source", "status", "token_id", "image_url", "created_at")
    return {"id": r["_id"], **{f: r.get(f) for f in fields}}


def detail_of(user: dict) -> dict:
    uid = user["_id"]
    usage = db.collection("ledger").find({"user_id": uid, "kind": "use"}).sort("created_at", -1).limit(RECENT_USAGE)
    payments = db.collection("payments").find({"user_id": uid}).sort("created_at", -1).limit(PAYMENTS_SHOWN)
    tokens = db.collection("tokens").find({"user_id": uid}, {"hash": 0}).sort("created_at", -1)
    return {
        "user": {**public_view(user), "disabled": bool(user.get("disabled")), "stripe_customer_id": user.get("stripe_customer_id"),
                 "updated_at": user.get("updated_at")},
        "balance": user.get("credits", 0),
        "payments": [payment_view(p) for p in payments],
        "recent_usage": [_usage_view(r) for r in usage],
        "tokens": [_token_view(t) for t in tokens],
    }


def detail(req) -> dict:
    """GET /api/admin/users/<id>"""
    return detail_of(target_of(req))


def _access(user: dict) -> dict:
    return {"role": user.get("role", "user"), "disabled": bool(user.get("disabled"))}


def update(req) -> dict:
    """PATCH /api/admin/users/<id> {role?, disabled?}"""
    body = validation.only(req.json(), {"role", "disabled"})
    changes = {}
    if "role" in body:
        role = body["role"]
        if not isinstance(role, str) or role not in ROLES:
            raise bad_request("invalid_field", "'role' must be 'user' or 'admin'.", field="role")
        changes["role"] = role
    if "disabled" in body:
        changes["disabled"] = validation.boolean(body, "disabled", required=True)
    if not changes:
        raise bad_request("missing_field", "Send 'role' and/or 'disabled'.")
    admin = load_user(req)
    target = target_of(req)
    if target["_id"] == admin["_id"] and (changes.get("disabled") or changes.get("role") == "user"):
        raise conflict("cannot_change_self", "You can't disable or demote your own account; ask another administrator.")

    def apply(session):
        before = db.collection("users").find_one({"_id": target["_id"]}, session=session)
        if before is None:
            raise not_found("user")
        if all(_access(before)[k] == v for k, v in changes.items()):
            return before
        update = {"$set": {**changes, "updated_at": datetime.now(UTC)}}
        if changes.get("disabled") and not before.get("disabled"):
            update["$set"]["sessions"] = []  # ends every session of theirs at once
        after = db.collection("users").find_one_and_update({"_id": target["_id"]}, update, return_document=ReturnDocument.AFTER, session=session)
        audit.record(admin, "user.update", target["_id"], _access(before), _access(after), session=session)
        return after

    user = db.transaction(apply)
    return detail_of(user)
