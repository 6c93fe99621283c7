"""Administration: user search and detail, access changes, credit adjustments, platform stats,
payments, messages and the audit log. Every route is auth="admin" (role checked by lib.http
on every request); every write also writes an `audit` row."""

from __future__ import annotations

from lib import pagination, validation

PER_PAGE = 20
NEWEST_FIRST = [("created_at", -1)]


def page_number(req) -> int:
    return validation.query_int(req.query, "page", 1, 1, 100_000)


def newest_page(collection, match: dict, req, *, hint: list | None = None, projection: dict | None = None) -> tuple[list[dict], dict]:
    """The requested page of `match`, newest first: (rows, page info) through lib.pagination."""
    found = pagination.page_of(collection, match, page=page_number(req), per_page=PER_PAGE, sort=NEWEST_FIRST,
                               projection=projection, hint=hint)
    return found.pop("items"), found
