"""People's accounts: sign-up, sign-in, credentials, profile, and what they may see of themselves."""

from __future__ import annotations

from lib import db
from lib.caller import is_verified

NOTIFICATION_PREFS = ("email", "usage_alerts", "security_alerts", "marketing")
DEFAULT_NOTIFICATIONS = {"email": True, "usage_alerts": True, "security_alerts": True, "marketing": False}


def public_view(user: dict) -> dict:
    """What a person sees of their own account: never the hash or internal counters."""
    return {
        "id": str(user["_id"]),
        "first_name": user.get("first_name", ""),
        "last_name": user.get("last_name", ""),
        "email": user.get("email", ""),
        "company": user.get("company") or "",
        "role": user.get("role", "user"),
        "credits": user.get("credits", 0),
        "notifications": {**DEFAULT_NOTIFICATIONS, **user.get("notifications", {})},
        "two_factor_enabled": bool(user.get("two_factor")),
        "email_verified": is_verified(user),
        "object_to_analytics": bool(user.get("object_to_analytics")),
        "created_at": user.get("created_at"),
    }


def find_by_email(email: str) -> dict | None:
    return db.collection("users").find_one({"email": email})
