"""N callers hitting one user's vision endpoint at the same moment: throughput, p95, and the bill.

Every caller holds the same session cookie, so every debit targets the same
user document. The yardstick is the database's own limit: a plain conditional
`$inc` loop on one document from the same number of threads. The debit
(lib/credits/calls.py) is one such conditional write plus an insert, with no
transaction, so nothing conflicts and nothing retries; with the request log's
row a call is three commands against the loop's one. The goal is 200 calls
at >= 0.3x the plain loop's rate with p95 under 2 s. The balance
covers every call, so each call should succeed and be charged exactly once:
charged == successes and the books reconcile.
Run in-process (the router, threads) and over HTTP against the real dev
server (`python -m local.serve` in a subprocess on the same embedded database).

    python -m bench.concurrency [N ...]
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from bson import ObjectId

from bench import _setup
from bench._setup import Figure
from lib import credits, db
from tests.client import Client
from tests.fixtures.dev_server import DevServer

SIZES = (50, 200)
COST = 1  # general-classification
PLAIN_OPS = 2000  # writes in the plain loop, shared by its threads
GOAL_RATIO, GOAL_P95_MS = 0.3, 2000  # issue 13, for N=200


def _at_once(n: int, call) -> tuple[list[int], list[float], float]:
    """Run call() in n threads released together; (statuses, latencies ms, wall seconds)."""
    gate = threading.Barrier(n)

    def one(_):
        gate.wait()
        started = time.perf_counter()
        status = call()
        return status, (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(one, range(n)))
    wall = time.perf_counter() - started
    return [s for s, _ in results], [ms for _, ms in results], wall


def _books(user_id: ObjectId, before: int) -> tuple[int, int, bool]:
    """(successful use rows, credits taken, reconciles) for the user, in the current database."""
    charged = db.collection("ledger").count_documents({"user_id": user_id, "kind": "use", "status": "succeeded"})
    balance = db.collection("users").find_one({"_id": user_id})["credits"]
    return charged, before - balance, credits.reconcile(user_id) == []


def plain_loop(n: int) -> float:
    """Writes/s of a conditional single-document `$inc` from n threads: what one document allows here."""
    users = db.collection("bench_plain")
    users.delete_many({})
    users.insert_one({"_id": n, "credits": PLAIN_OPS})
    per_thread = PLAIN_OPS // n
    gate = threading.Barrier(n)

    def loop(_):
        gate.wait()
        for _ in range(per_thread):
            users.find_one_and_update({"_id": n, "credits": {"$gte": 1}}, {"$inc": {"credits": -1}})

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=n) as pool:
        list(pool.map(loop, range(n)))
    rate = per_thread * n / (time.perf_counter() - started)
    print(f"  {'plain loop':<10} N={n:<4} {rate:6.1f} writes/s (conditional $inc on one document, {n} threads)")
    return rate


def _figures(where: str, n: int, statuses, latencies, wall, books, plain: float) -> list[Figure]:
    successes = statuses.count(200)
    charged, taken, reconciles = books
    correct = charged == successes and taken == successes * COST and reconciles
    others = sorted({s for s in statuses if s != 200})
    print(f"  {where:<10} N={n:<4} {successes}/{n} ok{f' (others: {others})' if others else ''}, "
          f"{n / wall:6.1f} calls/s, p50 {_setup.percentile(latencies, 50):7.0f} ms, p95 {_setup.percentile(latencies, 95):7.0f} ms, "
          f"charged {charged}, credits taken {taken}, reconcile {'clean' if reconciles else 'NOT clean'}")
    rate, p95 = n / wall, _setup.percentile(latencies, 95)
    print(f"  {'':<10} {'':<6} {rate / plain:.2f}x the plain loop's rate")
    figures = [
        Figure(f"concurrency {where} N={n}: throughput / p50 / p95",
               f"{rate:.1f} calls/s / {_setup.percentile(latencies, 50):.0f} ms / {p95:.0f} ms"),
        Figure(f"concurrency {where} N={n}: ratio to the plain $inc loop ({plain:.0f}/s)", f"{rate / plain:.2f}x",
               f">= {GOAL_RATIO}x" if n >= 200 else "", rate / plain >= GOAL_RATIO if n >= 200 else None),
        Figure(f"concurrency {where} N={n}: charged == successes, reconcile clean",
               f"{charged} charged, {successes} ok, reconcile {'clean' if reconciles else 'not clean'}", "exact", correct),
    ]
    if n >= 200:
        figures.append(_setup.at_most(f"concurrency {where} N={n}: p95", p95, GOAL_P95_MS, "ms"))
    return figures


def in_process(n: int, plain: float) -> list[Figure]:
    c, user = _setup.signed_in(credits_to_add=n * COST)
    user_id, before = ObjectId(user["id"]), user["credits"] + n * COST
    image = _setup.png()

    def call():
        own = Client(c.app)
        own.cookies = dict(c.cookies)
        return _setup.vision_call(own, image).status_code

    (statuses, latencies, wall), commands = _setup.COMMANDS.record(lambda: _at_once(n, call))
    # Each debit is one findAndModify on users; a transaction retried after a write conflict repeats it and aborts.
    attempts = sum(1 for name, target in commands if name == "findAndModify" and target == "users") / n
    retries = sum(1 for name, _ in commands if name == "abortTransaction") / n
    figures = _figures("in-process", n, statuses, latencies, wall, _books(user_id, before), plain)
    print(f"  {'':<10} {'':<6} {attempts:.2f} debit writes per call, {retries:.2f} transaction retries per call")
    return [*figures, Figure(f"concurrency in-process N={n}: debit writes / transaction retries per call", f"{attempts:.2f} / {retries:.2f}")]


def over_http(server: DevServer, n: int, plain: float) -> list[Figure]:
    anon = requests.Session()
    with _setup.quiet():
        r = anon.post(f"{server.url}/api/auth/register", headers={"Origin": server.url}, timeout=30, json={
            "first_name": "Bench", "last_name": "Mark", "email": f"http-{n}-{time.time_ns()}@example.com", "password": _setup.PASSWORD,
            "age_confirmed": True})
    assert r.status_code == 201, r.text
    user_id = ObjectId(r.json()["user"]["id"])
    cookie = anon.cookies.get("np_session")
    image = _setup.png()
    db.use_database(server.db_name)
    try:
        db.collection("users").update_one({"_id": user_id}, {"$set": {"email_verified": True}})  # as the mailed link would
        credits.grant(user_id, n * COST, "purchase", payment_id=ObjectId())
        before = db.collection("users").find_one({"_id": user_id})["credits"]

        def call():
            return requests.post(f"{server.url}{_setup.VISION_URL}", data=image, timeout=120, headers={
                "Content-Type": "image/png", "Origin": server.url, "Cookie": f"np_session={cookie}"}).status_code

        statuses, latencies, wall = _at_once(n, call)
        return _figures("over HTTP", n, statuses, latencies, wall, _books(user_id, before), plain)
    finally:
        db.use_database(None)


def run(sizes=SIZES) -> list[Figure]:
    _setup.fresh_database("concurrency")
    print("Concurrent vision calls on one account (a balance that covers every call)")
    figures = []
    plain = {n: plain_loop(n) for n in sizes}
    for n in sizes:
        figures.append(Figure(f"concurrency plain $inc loop, {n} threads", f"{plain[n]:.0f} writes/s"))
    for n in sizes:
        figures += in_process(n, plain[n])
    database = db.database().name
    try:
        with DevServer(_setup.stack().uri) as server:
            for n in sizes:
                figures += over_http(server, n, plain[n])
    except RuntimeError as exc:  # the dev server did not start: say so, keep the other figures
        print(f"  over HTTP: skipped, the dev server did not start ({str(exc).splitlines()[0]})")
    finally:
        db.use_database(database)
    return figures


if __name__ == "__main__":
    _setup.run_alone(lambda: run(tuple(int(a) for a in sys.argv[1:]) or SIZES))
