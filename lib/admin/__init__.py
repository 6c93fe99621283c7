"""Administration: user search and detail, access changes, credit adjustments, platform stats,
payments, messages and the audit log. Every route is auth="admin" (role checked by lib.http
on every request); every write also writes an `audit` row."""

from __future__ import annotations

from lib import validation

PER_PAGE = 20


def page_number(req) -> int:
    return validation.query_int(req.query, "page", 1, 1, 100_000)


def paginate(collection, match: dict, page: int, *, hint: list | None = None, projection: dict | None = None) -> tuple[list[dict], dict]:
    """One page of `match`, newest first, and its page info.

    `hint` names the index that serves the filter and the order; without it the
    embedded server's planner may scan and sort the whole collection.
    """
    total = collection.count_documents(match, **({"hint": hint} if hint else {}))
    cursor = collection.find(match, projection)
    if hint:
        cursor = cursor.hint(hint)
    rows = list(cursor.sort("created_at", -1).skip((page - 1) * PER_PAGE).limit(PER_PAGE))
    return rows, {"page": page, "per_page": PER_PAGE, "total": total, "pages": max(1, -(-total // PER_PAGE))}
