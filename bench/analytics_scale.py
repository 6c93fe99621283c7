"""The usage summary with a long history: one heavy user among many, and what the query examines.

The fixture is bulk-inserted straight into `ledger` (a benchmark fixture, not
product code): `use` rows spread over the last 365 days, one row in ten for the
measured user, the rest over 999 other accounts; each account's `credits` is
then set to its ledger sum so the books would reconcile. The target scale is
100,000 rows for the user among 1,000,000, but the embedded server inserts
only a thousand or two rows a second (slower as the collection grows), so rows
go in rounds (one user row to nine others') until the target or the time
budget, and the scale reached is printed. `totalDocsExamined` shows whether
the {user_id, kind, created_at} index bounds the work by the user's window
rather than by the collection. (On the embedded server a hinted query walks the
whole index whatever explain says, so its time is printed with and without
lib.usage's hint.)

    python -m bench.analytics_scale [total_rows]
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from bson import ObjectId
from pymongo import UpdateOne

from bench import _setup
from bench._setup import Figure
from lib import credits, db, usage
from lib.vision import catalog

TARGET_TOTAL = 1_000_000
USER_SHARE = 10  # one row in ten is the measured user's
OTHER_USERS = 999
BATCH = 5_000
INSERT_BUDGET_SECONDS = 90  # the queries on what was inserted take about as long again: ~3 minutes in all
SEED = 20261028


class Fixture:
    def __init__(self, user_id: ObjectId, others: list[ObjectId]):
        self.user_id, self.others = user_id, others
        self.sums: dict[ObjectId, int] = {}
        self.inserted = self.user_rows = 0
        self.rng = random.Random(SEED)
        self.start, self.end = usage.window(365)
        self.models = list(catalog.MODELS.values())

    def rows(self, owner, n: int) -> list[dict]:
        span = (datetime.now(UTC) - self.start).total_seconds()
        out = []
        for _ in range(n):
            model = self.rng.choice(self.models)
            user_id = owner if owner is not None else self.rng.choice(self.others)
            self.sums[user_id] = self.sums.get(user_id, 0) - model.cost
            out.append({
                "user_id": user_id, "kind": "use", "delta": -model.cost, "balance_after": 0, "model": model.slug,
                "source": self.rng.choice(("dashboard", "api")), "credits": model.cost, "status": "succeeded",
                "created_at": self.start + timedelta(seconds=self.rng.uniform(0, span)),
            })
        return out

    def fill(self, target_total: int, budget_seconds: float) -> float:
        """Insert rounds of one user batch and nine others' until the target or the time budget; returns seconds."""
        started = time.perf_counter()
        per_round = BATCH // USER_SHARE
        while self.inserted < target_total and time.perf_counter() - started < budget_seconds:
            rows = self.rows(self.user_id, per_round) + self.rows(None, BATCH - per_round)
            db.collection("ledger").insert_many(rows, ordered=False)
            self.inserted += BATCH
            self.user_rows += per_round
        return time.perf_counter() - started

    def settle_balances(self, signup_bonus: int) -> None:
        """Each account's balance = its ledger sum (the target user also has its signup bonus row)."""
        self.sums[self.user_id] = self.sums.get(self.user_id, 0) + signup_bonus
        db.collection("users").bulk_write([UpdateOne({"_id": uid}, {"$set": {"credits": total}}) for uid, total in self.sums.items()])


def _execution_stats(explained: dict) -> dict:
    """executionStats wherever the server put it (top level, or in the $cursor stage on MongoDB)."""
    if "executionStats" in explained:
        return explained["executionStats"]
    for stage in explained.get("stages", []):
        if "$cursor" in stage:
            return stage["$cursor"].get("executionStats", {})
    return {}


def explain_summary(user_id: ObjectId, days: int, hinted: bool = True) -> dict:
    """The summary's own aggregation (lib.usage.pipeline, with lib.usage's hint unless told), explained."""
    start, end = usage.window(days)
    match = {"user_id": user_id, "kind": "use", "created_at": {"$gte": start, "$lt": end}}
    command = {"aggregate": "ledger", "pipeline": usage.pipeline(match), "cursor": {}}
    if hinted:
        command["hint"] = dict(usage.USER_KIND_TIME)
    stats = _execution_stats(db.database().command("explain", command, verbosity="executionStats"))
    return {"docs": stats.get("totalDocsExamined"), "keys": stats.get("totalKeysExamined"), "returned": stats.get("nReturned"),
            "server_ms": stats.get("executionTimeMillis"), "in_window": db.collection("ledger").count_documents(match)}


def _summary_ms(c, days: int, runs: int) -> tuple[float, dict]:
    times, body = [], None
    for _ in range(runs):
        started = time.perf_counter()
        r = c.get(f"/api/account/usage?days={days}")
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, r.text
        body = r.json()
    return statistics.median(times), body


def run(requested_total: int | None = None) -> list[Figure]:
    _setup.fresh_database("analytics")
    c, user = _setup.signed_in()
    user_id = ObjectId(user["id"])
    others = db.collection("users").insert_many([
        {"email": f"bulk{i}@example.com", "first_name": "Bulk", "last_name": str(i), "role": "user", "credits": 0, "session_version": 0}
        for i in range(OTHER_USERS)
    ]).inserted_ids
    fixture = Fixture(user_id, others)
    # Rows go in until the full scale or the time budget, whichever comes first (an explicit size has no budget).
    insert_s = fixture.fill(requested_total or TARGET_TOTAL, float("inf") if requested_total else INSERT_BUDGET_SECONDS)
    total, user_rows = fixture.inserted, fixture.user_rows
    fixture.settle_balances(user["credits"])
    # The embedded server lives in this process: freeze its now-static documents out of the
    # cyclic GC, which would otherwise rescan them all and be timed as part of the queries.
    gc.collect()
    gc.freeze()
    reconciles = credits.reconcile(user_id) == []
    scale = f"{user_rows:,} rows for the user among {total:,}"
    print(f"Usage analytics at scale: {scale} (target 100,000 among 1,000,000; inserted at {total / insert_s:,.0f} rows/s in {insert_s:.0f} s)")

    figures = [Figure("analytics: scale used", scale, "100,000 among 1,000,000", total >= TARGET_TOTAL)]
    for days, runs in ((30, 3), (365, 1)):
        ms, body = _summary_ms(c, days, runs)
        plan, unhinted = explain_summary(user_id, days), explain_summary(user_id, days, hinted=False)
        assert body["totals"]["calls"] == plan["in_window"], (body["totals"], plan)
        print(f"  days={days:<4} summary {ms:8.0f} ms (median of {runs}); {plan['in_window']:,} rows in the window; "
              f"explain: totalDocsExamined {plan['docs']}, totalKeysExamined {plan['keys']}, nReturned {plan['returned']}; "
              f"server time {plan['server_ms']} ms with lib.usage's hint, {unhinted['server_ms']} ms without it")
        bounded = plan["docs"] is not None and plan["docs"] <= plan["in_window"]
        figures += [
            Figure(f"analytics: usage summary days={days}", f"{ms:.0f} ms ({plan['in_window']:,} rows in window)"),
            Figure(f"analytics: docs / keys examined days={days}", f"{plan['docs']} / {plan['keys']}",
                   f"<= rows in window ({plan['in_window']:,})", bounded),
            Figure(f"analytics: server ms with / without hint days={days}", f"{plan['server_ms']} / {unhinted['server_ms']} ms"),
        ]
    print(f"  reconcile for the user: {'clean' if reconciles else 'NOT clean'}")
    figures.append(Figure("analytics: fixture reconciles (user)", "clean" if reconciles else "not clean", "clean", reconciles))
    return figures


if __name__ == "__main__":
    _setup.run_alone(lambda: run(int(sys.argv[1]) if len(sys.argv) > 1 else None))
