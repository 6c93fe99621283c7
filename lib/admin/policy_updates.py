"""Privacy policy updates (policy §12): an administrator publishes one; everyone is told.

Publishing records the effective date and a summary. Every account made before
it sees an in-platform notice until dismissed (lib/accounts/notices), and every
verified address gets one essential mail, sent by the `policy-mail` cron job in
batches of `SES_SEND_RATE` mails, at most one batch a second.

The job holds a lease on the update while it sends and keeps a cursor (the last
user id mailed), so overlapping runs never send twice and a crashed run resumes
where it stopped (its last batch, at most, goes out again).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta

from pymongo import ReturnDocument

from lib import config, db, mail, validation
from lib.admin import audit, newest_page
from lib.errors import bad_request
from lib.http import Response, load_user

RUN_SECONDS = 45  # one run's sending time: inside the 60 s vercel.json gives this function
LEASE = timedelta(seconds=RUN_SECONDS * 3)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
FIELDS = ("effective_date", "summary", "published_at", "mail_done", "mail_sent")


def view(row: dict) -> dict:
    return {"id": row["_id"], **{f: row.get(f) for f in FIELDS}}


def _effective_date(body: dict) -> str:
    raw = validation.string(body, "effective_date", max_len=10)
    try:
        if ISO_DATE.fullmatch(raw):
            return date.fromisoformat(raw).isoformat()
    except ValueError:
        pass
    raise bad_request("invalid_field", "'effective_date' must be a date like 2027-01-31.", field="effective_date")


def publish(req) -> Response:
    """POST /api/admin/policy-updates {effective_date, summary} -> 201"""
    body = validation.only(req.json(), {"effective_date", "summary"})
    effective = _effective_date(body)
    summary = validation.string(body, "summary", min_len=10, max_len=2000, multiline=True)
    admin = load_user(req)
    row = {"effective_date": effective, "summary": summary, "published_at": datetime.now(UTC), "admin_id": admin["_id"],
           "mail_done": False, "mail_sent": 0, "mail_cursor": None, "mail_lease": None}

    def apply(session):
        row["_id"] = db.collection("policy_updates").insert_one(row, session=session).inserted_id
        audit.record(admin, "policy.publish", None, {}, {"policy_update_id": row["_id"], "effective_date": effective}, session=session)

    db.transaction(apply)
    return Response.json({"policy_update": view(row)}, 201)


def listing(req) -> dict:
    """GET /api/admin/policy-updates?page="""
    rows, info = newest_page(db.collection("policy_updates"), {}, req, hint=[("published_at", -1)])
    return {**info, "policy_updates": [view(r) for r in rows]}


def _claim(now: datetime) -> dict | None:
    """The oldest update still being mailed that no other run is sending now; leased to this run."""
    return db.collection("policy_updates").find_one_and_update(
        {"mail_done": False, "$or": [{"mail_lease": None}, {"mail_lease": {"$lt": now}}]},
        {"$set": {"mail_lease": now + LEASE}}, sort=[("published_at", 1)], return_document=ReturnDocument.AFTER,
    )


def _recipients(update: dict, limit: int) -> list[dict]:
    # Unverified addresses are left out: they may be strangers'. Later accounts read the new policy at sign-up.
    match = {"created_at": {"$lt": update["published_at"]}, "email_verified": {"$ne": False}}
    if update.get("mail_cursor"):
        match["_id"] = {"$gt": update["mail_cursor"]}
    return list(db.collection("users").find(match, {"email": 1}).sort("_id", 1).limit(limit))


def send_policy_mail() -> dict:
    """Cron job: mail the pending policy update to the next users, one SES-rate batch per second."""
    update = _claim(datetime.now(UTC))
    if update is None:
        return {"sent": 0}
    rate, sent, stop = config.settings().ses_send_rate, 0, time.monotonic() + RUN_SECONDS
    while time.monotonic() < stop:
        started = time.monotonic()
        batch = _recipients(update, rate)
        if not batch:
            db.collection("policy_updates").update_one({"_id": update["_id"]}, {"$set": {"mail_done": True, "mail_lease": None}})
            return {"policy_update": str(update["_id"]), "sent": sent, "done": True}
        delivered = sum(bool(mail.send(user["email"], "policy_update", effective_date=update["effective_date"], summary=update["summary"]))
                        for user in batch)
        sent += delivered
        update["mail_cursor"] = batch[-1]["_id"]
        db.collection("policy_updates").update_one(
            {"_id": update["_id"]},
            {"$set": {"mail_cursor": update["mail_cursor"], "mail_lease": datetime.now(UTC) + LEASE}, "$inc": {"mail_sent": delivered}},
        )
        time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))  # SES counts per second
    db.collection("policy_updates").update_one({"_id": update["_id"]}, {"$set": {"mail_lease": None}})
    return {"policy_update": str(update["_id"]), "sent": sent, "done": False}
