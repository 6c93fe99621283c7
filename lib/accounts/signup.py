"""POST /api/auth/register: a new account with the free credits, signed in at once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from pymongo.errors import DuplicateKeyError

from lib import config, credits, db, mail, passwords, ratelimit, sessions, validation
from lib.accounts import DEFAULT_NOTIFICATIONS, public_view
from lib.digest import sha256_hex
from lib.errors import conflict
from lib.http import Response

log = logging.getLogger("nexuspoint.accounts")
FIELDS = frozenset({"first_name", "last_name", "email", "password", "company"})


def register(req) -> Response:
    ratelimit.enforce(f"register:{req.client_ip}", 20, 3600, "Too many sign-ups from this address. Try again in an hour.")
    body = validation.only(req.json(), FIELDS)
    first = validation.string(body, "first_name", max_len=80)
    last = validation.string(body, "last_name", max_len=80)
    email = validation.email(body)
    company = validation.string(body, "company", max_len=120, required=False, min_len=0) or ""
    password = passwords.validate(body.get("password"))
    settings = config.settings()
    now = datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # what MongoDB keeps, so /me says the same
    user = {
        "first_name": first, "last_name": last, "email": email, "company": company,
        "password_hash": passwords.hash_password(password),
        "role": "admin" if email in settings.admin_emails else "user",
        "notifications": dict(DEFAULT_NOTIFICATIONS),
        "stripe_customer_id": None, "sessions": [], "disabled": False,
        "created_at": now, "updated_at": now,
    }

    def open_account(session):
        # The free credits come once per address: deleting the account and registering again gets none.
        # The record outlives the account and holds only a one-way hash (privacy policy §6).
        first_time = db.collection("signup_bonuses").update_one(
            {"_id": bonus_key(email)}, {"$setOnInsert": {"granted_at": now}}, upsert=True, session=session,
        ).upserted_id is not None
        # Same transaction: if the email is taken, the bonus record is not written either.
        return credits.open_account(user, settings.signup_credits if first_time else 0, session=session)

    try:
        user = db.transaction(open_account)
    except DuplicateKeyError:
        raise conflict("email_taken", "An account with this email already exists. Sign in instead.", field="email") from None
    _create_stripe_customer(user)
    credits_line = (f"It holds {user['credits']} free credits to try all eight vision models." if user["credits"]
                    else "The free credits come once per email address; buy a pack to start.")
    mail.send(email, "welcome", prefs=user["notifications"], first_name=first, credits_line=credits_line)
    return Response.json({"user": public_view(user)}, 201).set_cookie(sessions.start(user, req))


def bonus_key(email: str) -> str:
    """The `signup_bonuses` id of an address: SHA-256 of it lower-cased, never the address itself."""
    return sha256_hex(email.strip().lower())


def _create_stripe_customer(user: dict) -> None:
    """Best effort: if Stripe is down, checkout creates the customer later."""
    if not config.settings().stripe_enabled:
        return
    try:
        from lib.billing.customers import ensure_customer

        ensure_customer(user)
    except Exception:
        log.warning("Stripe customer for a new user could not be created; checkout will retry", exc_info=True)
