"""The audit log: who (admin id and email) did what to whom, with before and after."""

from __future__ import annotations

from datetime import UTC, datetime

from lib import db
from lib.admin import newest_page

FIELDS = ("admin_id", "admin_email", "action", "target_user_id", "before", "after", "created_at")


def record(admin: dict, action: str, target_user_id, before: dict, after: dict, *, session=None) -> dict:
    row = {
        "admin_id": admin["_id"], "admin_email": admin.get("email"), "action": action,
        "target_user_id": target_user_id, "before": before, "after": after, "created_at": datetime.now(UTC),
    }
    row["_id"] = db.collection("audit").insert_one(row, session=session).inserted_id
    return row


def view(row: dict) -> dict:
    return {"id": row["_id"], **{f: row.get(f) for f in FIELDS}}


def listing(req) -> dict:
    """GET /api/admin/audit?page="""
    rows, info = newest_page(db.collection("audit"), {}, req, hint=[("created_at", -1)])
    return {**info, "entries": [view(r) for r in rows]}
