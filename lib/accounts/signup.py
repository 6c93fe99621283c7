"""POST /api/auth/register: a new account, signed in at once; the free credits come when its email is verified."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from pymongo.errors import DuplicateKeyError

from lib import config, credits, passwords, ratelimit, sessions, validation
from lib.accounts import DEFAULT_NOTIFICATIONS, public_view, verification
from lib.errors import bad_request, conflict
from lib.http import Response

log = logging.getLogger("nexuspoint.accounts")
FIELDS = frozenset({"first_name", "last_name", "email", "password", "company", "age_confirmed"})


def register(req) -> Response:
    ratelimit.enforce(f"register:{req.client_ip}", 20, 3600, "Too many sign-ups from this address. Try again in an hour.")
    body = validation.only(req.json(), FIELDS)
    first = validation.person_text(body, "first_name", max_len=80)
    last = validation.person_text(body, "last_name", max_len=80)
    email = validation.email(body)
    company = validation.person_text(body, "company", max_len=120, required=False, min_len=0) or ""
    password = passwords.validate(body.get("password"))
    if validation.boolean(body, "age_confirmed") is not True:  # privacy policy §9: no accounts for under-16s
        raise bad_request("age_not_confirmed", "Confirm that you are 16 or older to create an account.", field="age_confirmed")
    settings = config.settings()
    now = datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # what MongoDB keeps, so /me says the same
    user = {
        "first_name": first, "last_name": last, "email": email, "company": company,
        "password_hash": passwords.hash_password(password),
        "role": "admin" if email in settings.admin_emails else "user",
        "notifications": dict(DEFAULT_NOTIFICATIONS),
        "stripe_customer_id": None, "sessions": [], "disabled": False,
        "email_verified": False, "age_confirmed_at": now,
        "created_at": now, "updated_at": now,
    }
    try:
        # No credits yet: lib.accounts.verification grants them (once per address) when the link is followed.
        user = credits.open_account(user, 0)
    except DuplicateKeyError:
        raise conflict("email_taken", "An account with this email already exists. Sign in instead.", field="email") from None
    _create_stripe_customer(user)
    verification.send_signup_link(user)
    return Response.json({"user": public_view(user)}, 201).set_cookie(sessions.start(user, req))


def _create_stripe_customer(user: dict) -> None:
    """Best effort: if Stripe is down, checkout creates the customer later."""
    if not config.settings().stripe_enabled:
        return
    try:
        from lib.billing.customers import ensure_customer

        ensure_customer(user)
    except Exception:
        log.warning("Stripe customer for a new user could not be created; checkout will retry", exc_info=True)
