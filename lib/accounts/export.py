"""GET /api/account/export: everything held about a person, as one JSON download (policy §8).

Each collection is copied through an allow-list of fields, so a field added
later (a hash, a secret) stays out of the export until someone decides it belongs.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lib import db, known_networks
from lib.accounts import DEFAULT_NOTIFICATIONS
from lib.http import Response, load_user
from lib.http.response import dumps

FORMAT_VERSION = 1
PROFILE_FIELDS = ("first_name", "last_name", "email", "company", "role", "credits", "stripe_customer_id", "disabled", "created_at", "updated_at",
                  "email_verified", "email_verified_at", "age_confirmed_at", "low_credit_threshold", "policy_notice_dismissed_at")
TOKEN_FIELDS = ("name", "prefix", "mode", "models", "credit_limit", "expires_at", "created_at", "last_used_at", "active")
# The settings, not the saved card's Stripe id or the cron job's bookkeeping.
AUTO_TOPUP_FIELDS = ("enabled", "pack_id", "threshold", "ceiling_cents", "paused_at", "month", "month_cents")
# A session as Settings shows it; the hash of its cookie stays out.
SESSION_FIELDS = ("id", "user_agent", "ip", "started_at", "last_seen_at")
# admin_id on adjustment rows is left out: it identifies the administrator, not the person.
LEDGER_FIELDS = ("kind", "delta", "balance_after", "created_at", "model", "source", "credits", "status", "token_id",
                 "image_url", "failure", "use_id", "payment_id", "reason")
PAYMENT_FIELDS = ("session_id", "payment_intent_id", "pack_id", "pack_name", "credits", "amount_cents", "currency", "status",
                  "refunded_cents", "card", "created_at", "updated_at", "succeeded_at")
MESSAGE_FIELDS = ("name", "email", "subject", "message", "created_at")
# Server log rows of this account's requests (kept 90 days); not the request id or timings.
REQUEST_LOG_FIELDS = ("ip", "method", "path", "status", "user_agent", "referrer", "created_at")
# What administrators did to the account; who did it (admin_id, admin_email) identifies them, not the person.
AUDIT_FIELDS = ("action", "before", "after", "created_at")


def _only(doc: dict, fields: tuple[str, ...]) -> dict:
    return {f: doc[f] for f in fields if f in doc}


def _pick(doc: dict, fields: tuple[str, ...]) -> dict:
    return {"id": doc["_id"], **_only(doc, fields)}


def collect(user: dict) -> dict:
    """The export document of one user."""
    uid = user["_id"]
    profile = _pick(user, PROFILE_FIELDS)
    profile["notifications"] = {**DEFAULT_NOTIFICATIONS, **user.get("notifications", {})}
    profile["object_to_analytics"] = bool(user.get("object_to_analytics"))
    profile["two_factor_enabled"] = bool(user.get("two_factor"))  # never the secret or the recovery codes
    # When each known network last signed in (lib/known_networks); its name is a keyed hash that says nothing more.
    profile["known_networks_last_sign_in"] = [n["at"] for n in user.get(known_networks.FIELD) or ()]
    if user.get("auto_topup"):
        profile["auto_topup"] = _only(user["auto_topup"], AUTO_TOPUP_FIELDS)
    tokens = db.collection("tokens").find({"user_id": uid}, {f: 1 for f in TOKEN_FIELDS}).sort("created_at", 1)
    ledger = db.collection("ledger").find({"user_id": uid}, {f: 1 for f in LEDGER_FIELDS}).sort([("created_at", 1), ("_id", 1)])
    payments = db.collection("payments").find({"user_id": uid}, {f: 1 for f in PAYMENT_FIELDS}).sort("created_at", 1)
    # Only messages sent while signed in: the email on a signed-out message is unverified, so anyone
    # registering that address would otherwise be handed a stranger's messages.
    messages = db.collection("messages").find({"user_id": uid}, {f: 1 for f in MESSAGE_FIELDS}).sort("created_at", 1)
    requests = db.collection("request_log").find({"user_id": uid}, {f: 1 for f in REQUEST_LOG_FIELDS}).sort("created_at", 1)
    audit = db.collection("audit").find({"target_user_id": uid}, {f: 1 for f in AUDIT_FIELDS}).sort("created_at", 1)
    return {
        "format_version": FORMAT_VERSION,
        "exported_at": datetime.now(UTC),
        "profile": profile,
        "tokens": [_pick(t, TOKEN_FIELDS) for t in tokens],
        "sessions": [_only(s, SESSION_FIELDS) for s in user.get("sessions", ())],
        "ledger": [_pick(r, LEDGER_FIELDS) for r in ledger],
        "payments": [_pick(p, PAYMENT_FIELDS) for p in payments],
        "messages": [_pick(m, MESSAGE_FIELDS) for m in messages],
        "request_log": [_pick(r, REQUEST_LOG_FIELDS) for r in requests],
        "audit": [_pick(a, AUDIT_FIELDS) for a in audit],
    }


def download(req) -> Response:
    user = load_user(req)
    data = collect(user)
    filename = f"nexuspoint-export-{data['exported_at']:%Y-%m-%d}.json"
    return Response(dumps(data), 200, {"Content-Disposition": f'attachment; filename="{filename}"'}, "application/json")
