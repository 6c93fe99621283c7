"""GET / POST /api/account/notices: the in-platform notice of a privacy policy update (policy §12).

A person sees every update published after they signed up and after the last
one they dismissed; dismissing one dismisses it and every older one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lib import db, validation
from lib.errors import not_found
from lib.http import Response, load_user

SHOWN = 5


def _view(row: dict) -> dict:
    return {"id": row["_id"], "kind": "policy_update", "effective_date": row["effective_date"], "summary": row["summary"],
            "published_at": row["published_at"]}


def pending(req) -> dict:
    user = load_user(req)
    seen = max(user.get("created_at") or datetime.min.replace(tzinfo=UTC), user.get("policy_notice_dismissed_at") or datetime.min.replace(tzinfo=UTC))
    rows = db.collection("policy_updates").find({"published_at": {"$gt": seen}}).sort("published_at", -1).limit(SHOWN)
    return {"notices": [_view(r) for r in rows]}


def dismiss(req) -> Response:
    """POST {id}: the notice and the older ones stop showing."""
    body = validation.only(req.json(), {"id"})
    update_id = validation.object_id(validation.string(body, "id", max_len=24), "notice")
    user = load_user(req)
    row = db.collection("policy_updates").find_one({"_id": update_id}, {"published_at": 1})
    if row is None:
        raise not_found("notice")
    db.collection("users").update_one({"_id": user["_id"]}, {"$max": {"policy_notice_dismissed_at": row["published_at"]}})
    return Response.empty()
