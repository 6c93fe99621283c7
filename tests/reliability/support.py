"""What the reliability and security suites share: the error shape, vision calls, the money checks."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bson import ObjectId

from lib import credits, db
from tests.client import Client, Result
from tests.fixtures.sentisight import image_bytes

DATA_COLLECTIONS = ("users", "ledger", "tokens", "payments", "messages")  # what a refused request must not touch


def has_error_shape(r: Result) -> bool:
    """{"error": {"code": str, "message": str, ...}} and nothing else at the top."""
    try:
        body = r.json()
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return (isinstance(error, dict) and set(body) == {"error"}
            and isinstance(error.get("code"), str) and isinstance(error.get("message"), str) and error["message"] != "")


def vision_call(client: Client, slug: str = "general-classification", data: bytes | None = None, token: str | None = None) -> Result:
    """A PNG to a model, as the dashboard (cookie) or, with `token`, as a script."""
    headers = {"content-type": "image/png"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return client.post(f"/api/vision/{slug}", data=data if data is not None else image_bytes(), headers=headers,
                       cookies=token is None, origin="default" if token is None else None)


def clone(client: Client) -> Client:
    """Another client holding the same cookies: one per thread, since a Client keeps a jar."""
    own = Client(client.app, origin=client.origin)
    own.cookies = dict(client.cookies)
    return own


def at_once(calls, workers: int = 32) -> list:
    """Run each zero-argument call on a pool of `workers` threads; results in order."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda call: call(), calls))


def balance(user_id) -> int:
    return db.collection("users").find_one({"_id": ObjectId(user_id)}, {"credits": 1})["credits"]


def uses(user_id, status: str | None = None) -> list[dict]:
    match = {"user_id": ObjectId(user_id), "kind": "use", **({"status": status} if status else {})}
    return list(db.collection("ledger").find(match))


def counts() -> dict[str, int]:
    """Documents in the collections that hold people's data and money."""
    return {name: db.collection(name).count_documents({}) for name in DATA_COLLECTIONS}


def reconciles() -> bool:
    return credits.reconcile() == []


def server_errors(results: list[Result], allowed: frozenset[int] = frozenset()) -> int:
    """How many answers were a 5xx other than the ones this case calls for."""
    return sum(1 for r in results if r.status_code >= 500 and r.status_code not in allowed)
