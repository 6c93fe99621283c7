"""GET /api/account/usage/export?from=&to=&format=csv|json&cursor=: the call log for a date range, in pages.

Dates are UTC days, at most 366 of them. Rows come oldest first; a page stops
before PAGE_BYTES (well under Vercel's 4.5 MB response cap) or PAGE_ROWS, and
the next page is named by a cursor (the last row's time and id) in a
`Link: <...>; rel="next"` header (and `next` in JSON). CSV is RFC 4180 (CRLF,
quotes doubled, header row, UTF-8); a cell that a spreadsheet would run as a
formula (starting with = + - @, tab or CR) gets a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from urllib.parse import urlencode

from bson import ObjectId
from bson.errors import InvalidId

from lib import config, db, usage
from lib.errors import bad_request
from lib.http import Response, load_user
from lib.http.response import dumps

MAX_DAYS = 366
PAGE_ROWS = 5000
PAGE_BYTES = 4_000_000
COLUMNS = ("created_at", "request_id", "model", "source", "token_name", "status", "credits", "latency_ms", "error_code", "test",
           "image_url", "id")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _cursor(raw: str) -> tuple[datetime, ObjectId] | None:
    if not raw:
        return None
    try:
        when, _, oid = raw.partition("_")
        return datetime.fromisoformat(when.replace("Z", "+00:00")), ObjectId(oid)
    except (ValueError, InvalidId, TypeError):
        raise bad_request("invalid_parameter", "Query parameter 'cursor' is not one this API gave out.", field="cursor") from None


def _params(query: dict) -> dict:
    fmt = query.get("format", "json") or "json"
    if fmt not in ("json", "csv"):
        raise bad_request("invalid_parameter", "Query parameter 'format' must be 'json' or 'csv'.", field="format")
    for name in ("from", "to"):
        if not query.get(name):
            raise bad_request("missing_parameter", f"Query parameter '{name}' (a UTC date like 2026-12-01) is required.", field=name)
    return {"format": fmt, "cursor": _cursor(query.get("cursor", ""))}


def _rows(user_id, query: dict, after) -> list[dict]:
    start, end = usage.date_range(query, MAX_DAYS)
    match = {"user_id": user_id, "kind": "use", "created_at": {"$gte": start, "$lt": end}}
    if after:
        when, oid = after
        match["$or"] = [{"created_at": {"$gt": when}}, {"created_at": when, "_id": {"$gt": oid}}]
    cursor = db.collection("ledger").find(match).hint(usage.USER_KIND_TIME).sort([("created_at", 1), ("_id", 1)]).limit(PAGE_ROWS + 1)
    return list(cursor)


def _next_link(query: dict, last: dict) -> str:
    cursor = f"{last['created_at'].isoformat().replace('+00:00', 'Z')}_{last['_id']}"
    params = {k: query[k] for k in ("from", "to", "format") if query.get(k)}
    return f"{config.settings().site_url}/api/account/usage/export?{urlencode({**params, 'cursor': cursor})}"


def csv_line(cells) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue()


def export(req) -> Response:
    params = _params(req.query)
    user_id = load_user(req)["_id"]
    rows = _rows(user_id, req.query, params["cursor"])
    more = len(rows) > PAGE_ROWS
    rows = rows[:PAGE_ROWS]
    names = usage.token_names(user_id, rows)
    views = [usage.call_view(r, names) for r in rows]
    lines, size = [csv_line(COLUMNS)], 0
    if params["format"] == "csv":
        for kept, view in enumerate(views):
            line = csv_line([safe_cell(view[c]) for c in COLUMNS])
            if size + len(line.encode()) > PAGE_BYTES:  # this row starts the next page
                views, more = views[:kept], True
                break
            lines.append(line)
            size += len(line.encode())
    headers = {}
    next_url = _next_link(req.query, rows[len(views) - 1]) if more and views else None
    if next_url:
        headers["Link"] = f'<{next_url}>; rel="next"'
    if params["format"] == "json":
        return Response(dumps({"calls": views, "next": next_url}), headers=headers, content_type="application/json")
    headers["Content-Disposition"] = f'attachment; filename="nexuspoint-usage-{req.query["from"]}-to-{req.query["to"]}.csv"'
    return Response("".join(lines).encode("utf-8"), headers=headers, content_type="text/csv; charset=utf-8")
