"""Password change, and the forgot/reset flow with single-use, one-hour links."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from pymongo import ReturnDocument

from lib import config, db, mail, passwords, ratelimit, validation
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


def _set_password(user_id, password: str, keep_session: str | None, revoke_tokens: bool) -> dict:
    """Store the new hash and end every session but `keep_session` (the hash of the one asking, if any).

    Any reset link still pending for the account is retired too: it was asked for the old password.
    API tokens are deleted only when the person asked for it; the mail says which was done.
    """
    update = {"$set": {"password_hash": passwords.hash_password(password), "updated_at": datetime.now(UTC)}}
    if keep_session:
        update["$pull"] = {"sessions": {"hash": {"$ne": keep_session}}}
    else:
        update["$set"]["sessions"] = []
    if revoke_tokens:
        update["$set"]["token_count"] = 0

    def apply(session):
        user = db.collection("users").find_one_and_update({"_id": user_id}, update, return_document=ReturnDocument.AFTER, session=session)
        if user is not None and revoke_tokens:  # with the count, in one transaction: the 10-token cap stays true
            db.collection("tokens").delete_many({"user_id": user_id}, session=session)
        return user

    user = db.transaction(apply)
    # Links issued under the old password die with it: a reset link, and a move to another address.
    db.collection("reset_tokens").delete_many({"user_id": user_id})
    db.collection("email_links").delete_many({"user_id": user_id, "purpose": "email_change"})
    return user


def _tell(user: dict, kept_this_session: bool, revoke_tokens: bool) -> None:
    sessions_line = ("This session stayed signed in; every other one was signed out." if kept_this_session
                     else "Every session was signed out.")
    tokens_line = ("Your API tokens were revoked: create new ones in the dashboard." if revoke_tokens
                   else "Your API tokens were kept and still work: revoke any you don't recognise in the dashboard.")
    mail.send(user["email"], "password_changed", prefs=user.get("notifications"), first_name=greeting_name(user),
              sessions_line=sessions_line, tokens_line=tokens_line)


def change_password(req) -> Response:
    body = validation.only(req.json(), {"current_password", "new_password", "revoke_tokens"})
    user = load_user(req)
    check_password(user, body, "current_password")
    new = passwords.validate(body.get("new_password"), "new_password")
    revoke_tokens = bool(validation.boolean(body, "revoke_tokens"))
    user = _set_password(user["_id"], new, req.caller.session_hash, revoke_tokens)
    _tell(user, True, revoke_tokens)
    return Response.empty()


def check_password(user: dict, body: dict, field: str = "password") -> None:
    """400 `wrong_password` unless `body[field]` is the account's password. The wrong ones count per account, shared by
    every route that asks for it (password change, email change, two-factor): a stolen session gets no more guesses."""
    password = body.get(field)
    succeeded = ratelimit.attempt(password_change_key(user["_id"]), CHANGE_ATTEMPTS_ALLOWED, CHANGE_ATTEMPT_WINDOW,
                                  "Too many wrong passwords. Wait a few minutes and try again.")
    if not isinstance(password, str) or not passwords.verify(password, user.get("password_hash")):
        raise ApiError(400, "wrong_password", f"The {'current ' if field == 'current_password' else ''}password is not right.", field=field)
    succeeded()


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
    body = validation.only(req.json(), {"token", "new_password", "revoke_tokens"})
    token = validation.string(body, "token", max_len=200)
    new = passwords.validate(body.get("new_password"), "new_password")
    revoke_tokens = bool(validation.boolean(body, "revoke_tokens"))
    # Deleting the row as we read it makes the link single-use even under races.
    row = db.collection("reset_tokens").find_one_and_delete({"hash": sha256_hex(token)})
    if not row or row["expires_at"] < datetime.now(UTC):
        raise bad_request("invalid_reset_token", "This reset link is invalid or has expired. Ask for a new one.", field="token")
    user = _set_password(row["user_id"], new, None, revoke_tokens)
    if user is None:
        raise bad_request("invalid_reset_token", "This reset link is invalid or has expired. Ask for a new one.", field="token")
    _tell(user, False, revoke_tokens)
    return Response.empty()
