"""Verified email: the single-use links that prove an address, and what proving it unlocks.

Sign-up and an email change both mail a link (24 hours, only its SHA-256 kept,
the token in the URL fragment like the reset link). Following it completes the
registration — the free credits come now, once per canonical address — or moves
the account to the new address. Until then the account may look around but not
run models, create API tokens or buy credits (lib/caller: 403 `email_unverified`).

A mail to an unverified address never carries text the registrant typed: the
address may be a stranger's, and the registrant's name would be their message.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from lib import config, credits, db, mail, ratelimit, validation
from lib.accounts import public_view
from lib.accounts.normalize import bonus_key
from lib.caller import is_verified
from lib.digest import sha256_hex
from lib.errors import bad_request, conflict
from lib.http import Response, load_user

LINK_LIFETIME = timedelta(hours=24)
RESENDS_ALLOWED = 5  # per hour and account
RESEND_WINDOW = 3600
INVALID_LINK = "This link is invalid, used or expired. Sign in and ask for a new one from your dashboard."


def issue_link(user: dict, purpose: str, email: str) -> str:
    """A new link proving `email` for `user`; it replaces any earlier link of the same purpose."""
    token = secrets.token_urlsafe(32)
    links = db.collection("email_links")
    links.delete_many({"user_id": user["_id"], "purpose": purpose})
    links.insert_one({"hash": sha256_hex(token), "user_id": user["_id"], "purpose": purpose, "email": email,
                      "expires_at": datetime.now(UTC) + LINK_LIFETIME})
    # In the fragment, which browsers never send: the token stays out of access logs and Referers.
    return f"{config.settings().site_url}/verify#token={quote(token)}"


def send_signup_link(user: dict) -> None:
    mail.send(user["email"], "verify_email", verify_url=issue_link(user, "signup", user["email"]))


def greeting_name(user: dict) -> str:
    """The first name for a mail's greeting; a neutral word while the address is unproven."""
    return user.get("first_name", "") if is_verified(user) else "there"


def resend(req) -> Response:
    """POST /api/auth/resend-verification: a fresh sign-up link (the old one stops working)."""
    user = load_user(req)
    if is_verified(user):
        raise conflict("already_verified", "Your email address is already verified.")
    ratelimit.enforce(resend_key(user["_id"]), RESENDS_ALLOWED, RESEND_WINDOW,
                      "Too many verification mails. Wait an hour, or check your spam folder.")
    send_signup_link(user)
    return Response.json({"message": f"A new link is on its way to {user['email']}."}, 202)


def resend_key(user_id) -> str:
    return f"verify-resend:{user_id}"


def verify(req) -> dict:
    """POST /api/auth/verify {token}: follow a link from a verification or email-change mail."""
    token = validation.string(validation.only(req.json(), {"token"}), "token", max_len=200)

    def apply(session):
        # Deleted as it is read: single-use even under races; rolled back if anything below fails.
        link = db.collection("email_links").find_one_and_delete({"hash": sha256_hex(token)}, session=session)
        if not link or link["expires_at"] < datetime.now(UTC):
            raise bad_request("invalid_link", INVALID_LINK, field="token")
        before = db.collection("users").find_one({"_id": link["user_id"]}, session=session)
        if before is None or before.get("disabled"):
            raise bad_request("invalid_link", INVALID_LINK, field="token")
        if link["purpose"] == "signup" and before["email"] != link["email"]:
            raise bad_request("invalid_link", INVALID_LINK, field="token")  # the address changed since it was sent
        after = _prove(before, link["email"], session)
        return before, after

    try:
        before, after = db.transaction(apply)
    except DuplicateKeyError:
        raise conflict("email_taken", "Another account took this address meanwhile; nothing was changed.", field="token") from None
    if before["email"] != after["email"] and is_verified(before):  # an unproven old address may be a stranger's
        mail.send(before["email"], "email_changed", first_name=before.get("first_name", ""), new_email=after["email"])
    if not is_verified(before):
        _welcome(after)
    return {"user": public_view(after), "email_changed": before["email"] != after["email"]}


def _prove(user: dict, email: str, session) -> dict:
    """Mark `email` proven for `user`; completing the registration grants the free credits once per address."""
    now = datetime.now(UTC)
    after = db.collection("users").find_one_and_update(
        {"_id": user["_id"]}, {"$set": {"email": email, "email_verified": True, "email_verified_at": now, "updated_at": now}},
        return_document=ReturnDocument.AFTER, session=session,
    )
    if user["email"] != email:  # a reset link mailed to the old address must not reach the account any more
        db.collection("reset_tokens").delete_many({"user_id": user["_id"]}, session=session)
    if is_verified(user):
        return after
    amount = config.settings().signup_credits
    # The record outlives the account and holds only a one-way hash (privacy policy §6).
    first_time = amount and db.collection("signup_bonuses").update_one(
        {"_id": bonus_key(email)}, {"$setOnInsert": {"granted_at": now}}, upsert=True, session=session,
    ).upserted_id is not None
    if first_time:
        _, granted = credits.grant(user["_id"], amount, "signup_bonus", session=session)
        after["credits"] = granted["credits"]  # grant returns only the balance fields
    return after


def _welcome(user: dict) -> None:
    credits_line = (f"It holds {user['credits']} free credits to try all eight vision models." if user.get("credits")
                    else "The free credits come once per email address; buy a pack to start.")
    mail.send(user["email"], "welcome", prefs=user.get("notifications"), first_name=user.get("first_name", ""), credits_line=credits_line)
