"""Who is calling: a session cookie (source "dashboard") or a Bearer token (source "api").

Modes an endpoint may ask for: None, "session", "token", "session_or_token",
"admin" (a session whose user has role admin, checked on every request).
"""

from __future__ import annotations

from bson import ObjectId
from bson.errors import InvalidId

from lib import config
from lib.caller import SESSION_EXPIRED, Caller, current_user, load_user, require_verified
from lib.errors import ApiError, forbidden, unauthorized
from lib.http.security import check_csrf

MODES = (None, "session", "token", "session_or_token", "admin")
__all__ = ["SESSION_EXPIRED", "Caller", "load_user", "optional_user", "require_admin", "resolve"]  # Caller, load_user: re-exported


def bearer_token(req) -> str | None:
    value = req.header("authorization")
    if value[:7].lower() == "bearer ":
        return value[7:].strip()
    return None


def _session_caller(req) -> Caller | None:
    raw = req.cookies.get("np_session")
    if not raw:
        return None
    from lib import sessions  # PyJWT pulls in `cryptography`: only pay for it when a cookie is there

    claims = sessions.decode(raw)
    if claims is None:
        raise unauthorized(SESSION_EXPIRED, "session_invalid")
    try:
        user_id = ObjectId(claims["sub"])
    except InvalidId:
        raise unauthorized(SESSION_EXPIRED, "session_invalid") from None
    return Caller(user_id=user_id, source="dashboard", session_hash=sessions.fingerprint(claims["sid"]))


def resolve(req, mode: str | None) -> Caller | None:
    """Identify the caller and apply the CSRF check that fits how they authenticated."""
    raw_token = bearer_token(req)
    caller = None
    if raw_token is not None and mode in ("token", "session_or_token"):
        from lib.tokens import check  # imported here: only token routes pay for it

        caller = check.authenticate(req, raw_token)
    elif raw_token is not None and mode in ("session", "admin"):
        raise unauthorized("This route is for the signed-in dashboard only; API tokens can't use it.", "session_required")
    elif mode in ("session", "session_or_token", "admin"):
        caller = _session_caller(req)
    if caller is None or caller.source == "dashboard":
        # A Bearer token is not sent by browsers on their own, so it needs no origin proof.
        check_csrf(req, cookie_authenticated=caller is not None)
    if mode is not None and caller is None:
        raise unauthorized()
    return caller


def optional_user(req) -> dict | None:
    """The signed-in user for a valid, current session cookie; None for none, a forged or a stale one.

    For routes open to everyone that only note who is writing (the contact form): a bad
    cookie there is ignored, never a 401. Same checks as load_user, so the two cannot drift.
    """
    try:
        caller = _session_caller(req)
    except ApiError:
        return None
    return current_user(caller) if caller is not None else None


def require_admin(req) -> dict:
    user = load_user(req)
    if user.get("role") != "admin":
        raise forbidden("forbidden", "This page is for administrators only.")
    require_verified(user)  # an ADMIN_EMAILS address is an administrator only once someone has proven they hold it
    if config.settings().production and not user.get("two_factor"):
        # Locally the admin page shows a banner instead, so development needs no authenticator app.
        raise forbidden("admin_2fa_required",
                        "Administrators must turn on two-factor sign-in first: Dashboard → Settings → Two-factor sign-in.")
    return user
