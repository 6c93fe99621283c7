"""Password change, and the forgot/reset flow with single-use, one-hour links."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from pymongo import ReturnDocument

from lib import config, db, mail, passwords, ratelimit, sessions, validation
from lib.accounts import find_by_email
from lib.errors import ApiError, bad_request
from lib.http import Response, load_user

RESET_LIFETIME = timedelta(hours=1)


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
    if not isinstance(current, str) or not passwords.verify(current, user["password_hash"]):
        raise ApiError(400, "wrong_password", "The current password is not right.", field="current_password")
    new = passwords.validate(body.get("new_password"), "new_password")
    user = _set_password(user["_id"], new)
    mail.send(user["email"], "password_changed", prefs=user.get("notifications"), first_name=user["first_name"])
    return Response.empty().set_cookie(sessions.cookie_for(user))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def forgot(req) -> Response:
    ratelimit.enforce(f"forgot:{req.client_ip}", 20, 3600, "Too many reset requests from this address. Try again in an hour.")
    body = validation.only(req.json(), {"email"})
    email = validation.email(body)
    user = find_by_email(email)
    if user and not user.get("disabled"):
        token = secrets.token_urlsafe(32)
        db.collection("reset_tokens").insert_one({
            "hash": _digest(token), "user_id": user["_id"], "expires_at": datetime.now(UTC) + RESET_LIFETIME,
        })
        url = f"{config.settings().site_url}/reset?token={quote(token)}"
        mail.send(email, "password_reset", first_name=user["first_name"], reset_url=url)
    # The same answer whether or not the account exists: no enumeration.
    return Response.json({"message": "If an account exists for this email, a reset link is on its way."}, 202)


def reset(req) -> Response:
    body = validation.only(req.json(), {"token", "new_password"})
    token = validation.string(body, "token", max_len=200)
    new = passwords.validate(body.get("new_password"), "new_password")
    # Deleting the row as we read it makes the link single-use even under races.
    row = db.collection("reset_tokens").find_one_and_delete({"hash": _digest(token)})
    if not row or row["expires_at"] < datetime.now(UTC):
        raise bad_request("invalid_reset_token", "This reset link is invalid or has expired. Ask for a new one.", field="token")
    user = _set_password(row["user_id"], new)
    if user is None:
        raise bad_request("invalid_reset_token", "This reset link is invalid or has expired. Ask for a new one.", field="token")
    mail.send(user["email"], "password_changed", prefs=user.get("notifications"), first_name=user["first_name"])
    return Response.empty()
