"""GET / PATCH /api/account/profile: names, company and notification preferences."""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo import ReturnDocument

from lib import db, validation
from lib.accounts import NOTIFICATION_PREFS, public_view
from lib.errors import bad_request
from lib.http import load_user


def get(req) -> dict:
    return {"user": public_view(load_user(req))}


def update(req) -> dict:
    body = validation.only(req.json(), {"first_name", "last_name", "company", "notifications", "object_to_analytics"})
    changes = {}
    for name, limit in (("first_name", 80), ("last_name", 80)):
        if name in body:
            changes[name] = validation.person_text(body, name, max_len=limit)
    if "company" in body:
        changes["company"] = validation.person_text(body, "company", max_len=120, min_len=0, required=False) or ""
    if "object_to_analytics" in body:  # the right to object (policy §8): usage left out of admin stats
        changes["object_to_analytics"] = validation.boolean(body, "object_to_analytics", required=True)
    if "notifications" in body:
        prefs = body["notifications"]
        if not isinstance(prefs, dict):
            raise bad_request("invalid_field", "'notifications' must be an object of true/false values.", field="notifications")
        validation.only(prefs, set(NOTIFICATION_PREFS))
        for name in NOTIFICATION_PREFS:
            value = validation.boolean(prefs, name)
            if value is not None:
                changes[f"notifications.{name}"] = value
    user = load_user(req)
    if changes:
        changes["updated_at"] = datetime.now(UTC)
        user = db.collection("users").find_one_and_update({"_id": user["_id"]}, {"$set": changes}, return_document=ReturnDocument.AFTER)
    return {"user": public_view(user)}


def balance(req) -> dict:
    """GET /api/account/balance: what a script checks before a batch of calls."""
    return {"credits": load_user(req).get("credits", 0)}
