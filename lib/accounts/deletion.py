"""DELETE /api/account: the right to erasure (policy §6, §8).

The user document is deleted, so the account can never sign in again and the
email is free to register anew. What the law or the books need is kept but
unlinked: ledger rows and payments move to an opaque id (a fresh ObjectId that
is no user), so `credits.reconcile()` still balances every remaining account
and the 7-year payment records stay (without card details). Usage rows keep model, credits,
source, status and time; the image URL, token id and failure text go.
Contact messages sent while signed in are kept for support (§1.6) with name, email and
user_id removed; signed-out ones carry an unverified email, so they are not the account's.
Payments not yet paid are closed, so a Checkout left open can't pay into an erased account.
The `signup_bonuses` record (a SHA-256 of the canonical email, lib/accounts/normalize.py) stays: the free
credits are granted once per address, however often it is deleted and registered again.
All of it happens in one transaction, with what Stripe must delete owed in it (lib/billing/cleanup.py: tried at
once, then retried by a cron until Stripe confirms); the rate-limit counters and the request log follow, best effort.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bson import ObjectId
from pymongo import UpdateMany

from lib import config, contact, db, passwords, ratelimit, sessions, validation
from lib.accounts import credentials, email_change, login, throttle, twofactor, verification
from lib.billing import cleanup
from lib.errors import ApiError
from lib.http import Response, load_user

log = logging.getLogger("nexuspoint.accounts")
ATTEMPTS_ALLOWED = 10
ATTEMPT_WINDOW = 15 * 60


def _check_password(req, user: dict) -> None:
    password = validation.only(req.json(), {"password"}).get("password")
    succeeded = ratelimit.attempt(f"delete-account:{user['_id']}", ATTEMPTS_ALLOWED, ATTEMPT_WINDOW,
                                  "Too many wrong passwords. Wait a few minutes and try again.")
    if not isinstance(password, str) or not passwords.verify(password, user.get("password_hash")):
        raise ApiError(400, "wrong_password", "The password is not right.", field="password")
    succeeded()


def erase(user: dict, session=None) -> ObjectId:
    """Delete or anonymise everything linked to `user`; returns the opaque id its records now carry."""
    uid, email, anon = user["_id"], user["email"], ObjectId()
    now = datetime.now(UTC)
    c = db.collection
    if not c("users").delete_one({"_id": uid}, session=session).deleted_count:
        return anon  # a concurrent request erased it already: nothing is left to do
    c("tokens").delete_many({"user_id": uid}, session=session)
    c("reset_tokens").delete_many({"user_id": uid}, session=session)
    c("email_links").delete_many({"user_id": uid}, session=session)
    c("idempotency_keys").delete_many({"user_id": uid}, session=session)
    # Several updates of one collection go as one ordered command each (a round trip per collection, not per update).
    c("ledger").bulk_write([
        UpdateMany({"user_id": uid, "kind": "use"}, {"$unset": {"image_url": "", "token_id": "", "token_name": "", "failure": ""}}),
        UpdateMany({"user_id": uid}, {"$set": {"user_id": anon}}),
    ], session=session)
    c("payments").bulk_write([
        # A Checkout tab left open could still be paid (pending, or failed and retried with another card).
        # `closed` tells the webhook's fulfilment to refuse it: there is no account left to credit.
        UpdateMany({"user_id": uid, "status": "pending"}, {"$set": {"status": "failed", "failure": "account_deleted"}}),
        UpdateMany({"user_id": uid, "status": "failed"}, {"$set": {"closed": True, "updated_at": now}}),
        # Kept 7 years (§6) as the transaction record §1.2 lists; the card details are not part of it.
        UpdateMany({"user_id": uid}, {"$set": {"user_id": anon, "anonymised_at": now}, "$unset": {"card": ""}}),
    ], session=session)
    c("messages").update_many(
        {"user_id": uid},  # never by email: someone else may have written from that address
        {"$set": {"name": None, "email": None, "anonymised_at": now}, "$unset": {"user_id": ""}}, session=session,
    )
    # Audit rows stay (accountability) but name the opaque id, never the person.
    c("audit").bulk_write([
        UpdateMany({"target_user_id": uid}, {"$set": {"target_user_id": anon}}),
        UpdateMany({"admin_id": uid}, {"$set": {"admin_id": anon, "admin_email": None}}),
    ], session=session)
    # Local mail backend only: the copies of mail sent to this address.
    c("outbox").delete_many({"to": email}, session=session)
    for kind, stripe_id in _stripe_debts(user):  # owed in the same commit, so a crash right after it loses none
        cleanup.owe(kind, stripe_id, session=session)
    return anon


def _stripe_debts(user: dict) -> list[tuple[str, str]]:
    """What Stripe holds of this account: the auto top-up card first (deleting the customer may fail), then the customer."""
    if not config.settings().stripe_enabled:
        return []  # the local stand-in keeps nothing outside the user document
    card, customer = (user.get("auto_topup") or {}).get("payment_method_id"), user.get("stripe_customer_id")
    return [*([("card", card)] if card else []), *([("customer", customer)] if customer else [])]


def forget_outside(user: dict, req) -> None:
    """The parts that cannot share the transaction: each failure is logged, never raised."""
    try:
        # Counters keyed (hashed) by this email or account. The sign-in counter also holds an IP:
        # this address's goes now, others expire with their 15-minute window.
        now = ratelimit.clock()  # the counters' own clock, so the window ids match
        keys = [(f"login:{user['email']}:{req.client_ip}", login.FAILURE_WINDOW), (f"delete-account:{user['_id']}", ATTEMPT_WINDOW),
                (contact.mail_counter_key(user["email"]), contact.MAIL_WINDOW),
                (credentials.reset_mail_key(user["email"]), credentials.RESET_MAIL_WINDOW),
                (credentials.password_change_key(user["_id"]), credentials.CHANGE_ATTEMPT_WINDOW),
                (twofactor.code_attempt_key(user["_id"]), twofactor.CODE_ATTEMPT_WINDOW),
                (email_change.mail_key(user["_id"]), email_change.MAIL_WINDOW),
                (verification.resend_key(user["_id"]), verification.RESEND_WINDOW)]
        ids = [ratelimit.window_id(key, seconds, now) for key, seconds in keys] + [throttle.key(user["email"])]
        db.collection("ratelimits").delete_many({"_id": {"$in": ids}})
        db.collection("request_log").update_many({"user_id": user["_id"]}, {"$unset": {"user_id": ""}})
    except Exception:
        log.warning("rate-limit or request-log cleanup after an account deletion failed", exc_info=True)
    for kind, stripe_id in _stripe_debts(user):
        cleanup.pay(kind, stripe_id)  # what Stripe refuses now, the stripe-cleanup cron retries


def delete_account(req) -> Response:
    user = load_user(req)
    _check_password(req, user)
    db.transaction(lambda s: erase(user, session=s))
    log.info("account %s deleted", user["_id"])
    forget_outside(user, req)
    req.caller = None  # this request's own log row must not name the account it just erased
    return Response.empty().set_cookie(sessions.clearing_cookie())
