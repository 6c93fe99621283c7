"""Who is calling, and the check that their account may still act: below both lib/http and lib/tokens.

lib/http resolves a request to a Caller (cookie or Bearer token) and lib/tokens
builds the Caller of a token; both use this module, which uses neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bson import ObjectId

from lib import db
from lib.errors import ApiError, unauthorized

SESSION_EXPIRED = "Your session has ended. Sign in again."
LAST_SEEN_EVERY = timedelta(minutes=5)  # how stale a session's last_seen_at may get before a request writes it
INVALID_TOKEN = "Invalid API token."  # the same for unknown, paused, deleted tokens and disabled users


@dataclass
class Caller:
    user_id: ObjectId
    source: str  # "dashboard" (cookie) or "api" (token)
    session_hash: str | None = None  # a cookie's session, as the user document's `sessions.hash` keeps it
    token_id: ObjectId | None = None
    token_name: str | None = None
    mode: str = "live"  # "test": a sandbox token, never charged
    models: tuple[str, ...] = field(default=())  # the model slugs this token may call; empty = all
    credit_limit: dict | None = None  # {"credits": N, "period": "day"|"month"|"total"}, enforced in the debit
    expires_at: datetime | None = None


def require_model(caller: Caller, slug: str) -> None:
    """403 `model_not_allowed` when the caller's token is scoped to other models (checked before any charge)."""
    if caller.models and slug not in caller.models:
        raise ApiError(403, "model_not_allowed",
                       f"This API token may call only {', '.join(caller.models)}; '{slug}' is not one of them. Nothing was charged.",
                       model=slug, allowed_models=list(caller.models))


def session_of(user: dict, caller: Caller) -> dict | None:
    """The stored record of the caller's cookie session, or None once it has ended."""
    return next((s for s in user.get("sessions", ()) if s.get("hash") == caller.session_hash), None)


def current_user(caller: Caller) -> dict | None:
    """The caller's user if it exists, is not disabled and (for a cookie) the session is still recorded."""
    user = db.collection("users").find_one({"_id": caller.user_id})
    if not user or user.get("disabled"):
        return None
    if caller.source == "dashboard" and session_of(user, caller) is None:
        return None
    return user


def is_verified(user: dict) -> bool:
    """Whether the account's email address is proven; accounts from before verification existed count as proven."""
    return user.get("email_verified") is not False


def email_unverified() -> ApiError:
    return ApiError(403, "email_unverified",
                    "Verify your email address first: follow the link we mailed you, or ask for a new one.",
                    resend={"method": "POST", "path": "/api/auth/resend-verification"})


def require_verified(user: dict) -> None:
    """403 `email_unverified` for what only a proven address may do: run models, create API tokens, buy credits."""
    if not is_verified(user):
        raise email_unverified()


def debit_filter(caller: Caller) -> dict:
    """What current_user checks, and a proven email, as a filter the debit's conditional update carries (no extra read)."""
    match = {"disabled": {"$ne": True}, "email_verified": {"$ne": False}}
    if caller.source == "dashboard":
        match["sessions.hash"] = caller.session_hash
    return match


def _note_last_seen(user: dict, caller: Caller, ip: str) -> None:
    """Move the session's last_seen_at on, at most once every few minutes (never on the vision call's path)."""
    now = datetime.now(UTC)
    record = session_of(user, caller)
    if record["last_seen_at"] > now - LAST_SEEN_EVERY:
        return
    db.collection("users").update_one(
        {"_id": user["_id"], "sessions.hash": caller.session_hash},
        {"$set": {"sessions.$.last_seen_at": now, "sessions.$.ip": ip}},
    )
    record["last_seen_at"], record["ip"] = now, ip


def debit_refusal(caller: Caller) -> ApiError:
    """Why the debit's filter did not match: an unproven email (403), else the caller is no longer valid (401).

    Read only after a refused debit, so a successful call keeps its round trips.
    """
    user = current_user(caller)
    if user is not None and not is_verified(user):
        return email_unverified()
    if caller.source == "dashboard":
        return unauthorized(SESSION_EXPIRED, "session_invalid")
    return unauthorized(INVALID_TOKEN, "invalid_token")


def load_user(req) -> dict:
    """The caller's user document, checked: exists, not disabled, session still current."""
    if "user" in req.__dict__:
        return req.__dict__["user"]
    caller = req.caller
    if caller is None:
        raise unauthorized()
    user = current_user(caller)
    if user is None:
        raise unauthorized(SESSION_EXPIRED if caller.source == "dashboard" else INVALID_TOKEN,
                           "session_invalid" if caller.source == "dashboard" else "invalid_token")
    if caller.source == "dashboard":
        _note_last_seen(user, caller, req.client_ip)
    req.__dict__["user"] = user
    return user
