"""One page of a query, for every paged list (admin lists, payment history, call log)."""

from __future__ import annotations


def page_of(collection, query: dict, *, page: int, per_page: int, sort: list, projection: dict | None = None,
            hint: list | None = None) -> dict:
    """`{"items", "page", "pages", "total", "per_page"}` for page `page` (1-based) of `query` in `sort` order.

    `hint` names the index that serves the filter and the order, for both the
    count and the page; without it the embedded server's planner may scan and
    sort the whole collection.
    """
    total = collection.count_documents(query, **({"hint": hint} if hint else {}))
    cursor = collection.find(query, projection)
    if hint:
        cursor = cursor.hint(hint)
    items = list(cursor.sort(sort).skip((page - 1) * per_page).limit(per_page))
    return {"items": items, "page": page, "pages": max(1, -(-total // per_page)), "total": total, "per_page": per_page}
