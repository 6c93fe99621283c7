"""Password change, and the forgot/reset flow with single-use, one-hour links."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from pymongo import ReturnDocument

from lib import config, db, mail, passwords, ratelimit, sessions, validation
from lib.accounts import find_by_email
from lib.accounts.verification import greeting_name
from lib.digest import sha256_hex
from lib.errors import ApiError, bad_request
from lib.http import Response, load_user

RESET_LIFETIME = timedelta(hours=1)
RESET_MAILS_PER_ADDRESS = 5  # per hour: beyond it forgot still answers 202 but mails nothing
RESET_MAIL_WINDOW = 3600
CHANGE_ATTEMPTS_ALLOWED = 10
CHANGE_ATTEMPT_WINDOW = 15 * 60


def _set_password(user_id, password: str) -> dict:
    """Store the new hash and bump the session version, which ends every session.

    Any reset link still pending for the account is retired too: it was asked for the old password.
    """
    user = db.collection("users").find_one_and_update(
        {"_id": user_id},
        {"$set": {"password_hash": passwords.hash_password(password), "updated_at": datetime.now(UTC)}, "$inc": {"session_version": 1}},
        return_document=ReturnDocument.AFTER,
    )
    db.collection("reset_tokens").delete_many({"user_id": user_id})
    return user


def change_password(req) -> Response:
    body = validation.only(req.json(), {"current_password", "new_password"})
    user = load_user(req)
    current = body.get("current_password")
    # A stolen session must not become unlimited guesses at the password itself (as for deletion).
    succeeded = ratelimit.attempt(password_change_key(user["_id"]), CHANGE_ATTEMPTS_ALLOWED, CHANGE_ATTEMPT_WINDOW,
                                  "Too many wrong passwords. Wait a few minutes and try again.")
    if not isinstance(current, str) or not passwords.verify(current, user["password_hash"]):
        raise ApiError(400, "wrong_password", "The current password is not right.", field="current_password")
    succeeded()
    new = passwords.validate(body.get("new_password"), "new_password")
    user = _set_password(user["_id"], new)
    mail.send(user["email"], "password_changed", prefs=user.get("notifications"), first_name=greeting_name(user))
    return Response.empty().set_cookie(sessions.cookie_for(user))


def password_change_key(user_id) -> str:
    return f"password-change:{user_id}"


def reset_mail_key(email: str) -> str:
    """The rate-limit key counting reset mails to one address (account deletion clears it)."""
    return f"forgot-mail:{email}"


def forgot(req) -> Response:
    ratelimit.enforce(f"forgot:{req.client_ip}", 20, 3600, "Too many reset requests from this address. Try again in an hour.")
    body = validation.only(req.json(), {"email"})
    email = validation.email(body)
    # Counted for every address, known or not, so nothing here depends on whether the account exists.
    mailed, _ = ratelimit.hit(reset_mail_key(email), RESET_MAIL_WINDOW)
    user = find_by_email(email) if mailed <= RESET_MAILS_PER_ADDRESS else None
    if user and not user.get("disabled"):
        token = secrets.token_urlsafe(32)
        # Only the newest link works: a flood of requests leaves one live token, not many.
        db.collection("reset_tokens").delete_many({"user_id": user["_id"]})
        db.collection("reset_tokens").insert_one({
            "hash": sha256_hex(token), "user_id": user["_id"], "expires_at": datetime.now(UTC) + RESET_LIFETIME,
        })
        # In the fragment, which browsers never send: the token stays out of access logs and Referers.
        url = f"{config.settings().site_url}/reset#token={quote(token)}"
        mail.send(email, "password_reset", first_name=greeting_name(user), reset_url=url)
    # The same answer whether or not the account exists: no enumeration.
    return Response.json({"message": "If an account exists for this email, a reset link is on its way."}, 202)


def reset(req) -> Response:
    body = validation.only(req.json(), {"token", "new_password"})
    token = validation.string(body, "token", max_len=200)
    new = passwords.validate(body.get("new_password"), "new_password")
    # Deleting the row as we read it makes the link single-use even under races.
    row = db.collection("reset_tokens").find_one_and_delete({"hash": sha256_hex(token)})
    if not row or row["expires_at"] < datetime.now(UTC):
        raise bad_request("invalid_reset_token", "This reset link is invalid or has expired. Ask for a new one.", field="token")
    user = _set_password(row["user_id"], new)
    if user is None:
        raise bad_request("invalid_reset_token", "This reset link is invalid or has expired. Ask for a new one.", field="token")
    mail.send(user["email"], "password_changed", prefs=user.get("notifications"), first_name=greeting_name(user))
    return Response.empty()
