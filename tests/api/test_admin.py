"""Administration: who may call it, user search and detail, access changes, credits, stats, lists, audit."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from lib import credits, db, usage
from tests.fixtures.accounts import PASSWORD, sign_up
from tests.fixtures.ledger import record_call

ROUTES = [
    ("GET", "/api/admin/users", None),
    ("GET", "/api/admin/users/{id}", None),
    ("PATCH", "/api/admin/users/{id}", {"disabled": True}),
    ("POST", "/api/admin/credits", {"user_id": "{id}", "amount": 10, "reason": "test"}),
    ("GET", "/api/admin/stats", None),
    ("GET", "/api/admin/payments", None),
    ("GET", "/api/admin/messages", None),
    ("GET", "/api/admin/audit", None),
    ("DELETE", "/api/admin/users/{id}", {"reason": "test erasure"}),
    ("GET", "/api/admin/policy-updates", None),
    ("POST", "/api/admin/policy-updates", {"effective_date": "2027-01-31", "summary": "Server logs are now kept 60 days."}),
]
TOKEN_VALUE = "np_live_" + "a" * 43


def call(client, method, path, body, user_id, **kw):
    path = path.replace("{id}", user_id)
    if body:
        body = {k: (v.replace("{id}", user_id) if isinstance(v, str) else v) for k, v in body.items()}
    return client.request(method, path, json=body, **kw)


def insert_token(user_id, value=TOKEN_VALUE) -> ObjectId:
    """A token document of the contract's shape, for a value the test knows."""
    return db.collection("tokens").insert_one({
        "user_id": user_id, "name": "script", "hash": hashlib.sha256(value.encode()).hexdigest(), "prefix": value[:12],
        "created_at": datetime.now(UTC), "last_used_at": None, "active": True, "rl_window": None, "rl_count": 0,
    }).inserted_id


def bearer(client, path, value=TOKEN_VALUE):
    return client.get(path, headers={"Authorization": f"Bearer {value}"}, cookies=False, origin=None)


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_a_plain_user_gets_403_and_nobody_gets_401(client, user, anon, method, path, body):
    r = call(client, method, path, body, user["id"])
    assert r.status_code == 403 and r.error_code == "forbidden", r.text
    r = call(anon, method, path, body, user["id"])
    assert r.status_code == 401
    assert db.collection("audit").count_documents({}) == 0
    assert client.get("/api/auth/me").json()["user"]["credits"] == 50


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_admin_routes_refuse_tokens_and_foreign_sites(admin_client, user, method, path, body):
    admin_id = ObjectId(admin_client.user["id"])
    insert_token(admin_id)
    r = call(admin_client, method, path, body, user["id"], headers={"Authorization": f"Bearer {TOKEN_VALUE}"}, cookies=False, origin=None)
    assert r.status_code == 401 and r.error_code == "session_required"
    if method != "GET":
        assert call(admin_client, method, path, body, user["id"], origin="http://evil.example").status_code == 403


def test_a_demoted_admin_loses_access_on_the_next_request(admin_client):
    assert admin_client.get("/api/admin/stats").status_code == 200
    db.collection("users").update_one({"_id": ObjectId(admin_client.user["id"])}, {"$set": {"role": "user"}})
    assert admin_client.get("/api/admin/stats").status_code == 403


# --- users ---------------------------------------------------------------------

@pytest.fixture
def people(new_client):
    """Four accounts signed up in this order (the last is the newest)."""
    made = {}
    for first, last, email in [("Grace", "Hopper", "grace@navy.example"), ("Alan", "Turing", "alan@bletchley.example"),
                               ("Ada", "Byron", "a.c@example.com"), ("Abc", "Def", "abc@example.com")]:
        made[email] = sign_up(new_client(), email=email, first_name=first, last_name=last)
    return made


def test_search_by_email_name_and_case(admin_client, people):
    def emails(q):
        r = admin_client.get("/api/admin/users", query={"q": q})
        assert r.status_code == 200, r.text
        return sorted(u["email"] for u in r.json()["users"])

    assert emails("HOPPER") == ["grace@navy.example"]
    assert emails("bletchley") == ["alan@bletchley.example"]
    assert emails("tur") == ["alan@bletchley.example"]
    assert emails("a.c") == ["a.c@example.com"]  # the dot is literal, so abc@ does not match
    assert emails(".*") == [] and emails("(") == [] and emails("[") == []
    assert emails(people["grace@navy.example"]["id"]) == ["grace@navy.example"]
    everyone = admin_client.get("/api/admin/users").json()
    assert everyone["total"] == 5 and everyone["users"][0]["email"] == "abc@example.com"  # newest first
    assert set(everyone["users"][0]) == {"id", "email", "first_name", "last_name", "company", "role", "credits", "disabled", "created_at"}


def test_search_text_is_capped(admin_client):
    assert admin_client.get("/api/admin/users", query={"q": "x" * 100}).status_code == 200
    r = admin_client.get("/api/admin/users", query={"q": "x" * 101})
    assert r.status_code == 400 and r.error_code == "field_too_long"


def test_user_list_pages(admin_client, database):
    now = datetime.now(UTC)
    db.collection("users").insert_many([
        {"email": f"bulk{i}@example.com", "first_name": "Bulk", "last_name": str(i), "credits": 0, "created_at": now - timedelta(minutes=i)}
        for i in range(25)
    ])
    first = admin_client.get("/api/admin/users?q=bulk").json()
    second = admin_client.get("/api/admin/users?q=bulk&page=2").json()
    assert first["total"] == 25 and first["pages"] == 2 and len(first["users"]) == 20 and len(second["users"]) == 5
    assert [u["email"] for u in first["users"]][:2] == ["bulk0@example.com", "bulk1@example.com"]


def test_user_detail(admin_client, client, user, monkeypatch):
    uid = ObjectId(user["id"])
    token_id = insert_token(uid)
    credits.adjust(uid, 10, ObjectId(admin_client.user["id"]), "room for 55 calls")
    start = datetime.now(UTC) - timedelta(hours=2)
    for i in range(55):
        record_call(uid, 1, model="general-classification" if i < 54 else "text-recognition", source="api", token_id=token_id,
                    when=start + timedelta(seconds=i))
    db.collection("payments").insert_one({
        "user_id": uid, "session_id": "cs_test_1", "pack_id": "starter", "pack_name": "Starter", "credits": 100,
        "amount_cents": 900, "currency": "usd", "status": "pending", "created_at": start, "updated_at": start,
    })
    r = admin_client.get(f"/api/admin/users/{user['id']}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["email"] == user["email"] and body["user"]["disabled"] is False and body["balance"] == 5
    assert len(body["recent_usage"]) == 50 and body["recent_usage"][0]["model"] == "text-recognition"  # newest first
    assert [p["session_id"] for p in body["payments"]] == ["cs_test_1"]
    [token] = body["tokens"]
    assert token["id"] == str(token_id) and "hash" not in token
    assert "password_hash" not in r.text and hashlib.sha256(TOKEN_VALUE.encode()).hexdigest() not in r.text


@pytest.mark.parametrize("user_id", ["0123456789abcdef01234567", "nope", "%7B%22%24ne%22%3A1%7D"])
def test_unknown_users_are_404(admin_client, user_id):
    for method, body in (("GET", None), ("PATCH", {"role": "admin"})):
        r = admin_client.request(method, f"/api/admin/users/{user_id}", json=body)
        assert r.status_code == 404 and r.error_code == "not_found"


# --- access changes ------------------------------------------------------------

def test_disabling_ends_sessions_and_tokens_at_once(admin_client, client, user):
    uid = ObjectId(user["id"])
    insert_token(uid)
    assert bearer(client, "/api/account/balance").status_code == 200  # the token works before

    r = admin_client.patch(f"/api/admin/users/{user['id']}", json={"disabled": True})
    assert r.status_code == 200 and r.json()["user"]["disabled"] is True
    assert client.get("/api/auth/me").status_code == 401
    assert bearer(client, "/api/account/balance").status_code == 401
    login = client.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert login.status_code == 403 and login.error_code == "account_disabled"

    [entry] = list(db.collection("audit").find())
    assert entry["action"] == "user.update" and entry["target_user_id"] == uid
    assert entry["admin_id"] == ObjectId(admin_client.user["id"]) and entry["admin_email"] == admin_client.user["email"]
    assert entry["before"] == {"role": "user", "disabled": False} and entry["after"] == {"role": "user", "disabled": True}

    assert admin_client.patch(f"/api/admin/users/{user['id']}", json={"disabled": False}).status_code == 200
    assert client.get("/api/auth/me").status_code == 401  # the sessions ended by disabling stay ended
    assert bearer(client, "/api/account/balance").status_code == 200
    assert client.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD}).status_code == 200
    assert db.collection("audit").count_documents({}) == 2


def test_promotion_gives_admin_access(admin_client, client, user):
    r = admin_client.patch(f"/api/admin/users/{user['id']}", json={"role": "admin"})
    assert r.status_code == 200 and r.json()["user"]["role"] == "admin"
    assert client.get("/api/admin/stats").status_code == 200
    assert admin_client.patch(f"/api/admin/users/{user['id']}", json={"role": "user"}).status_code == 200
    assert client.get("/api/admin/stats").status_code == 403
    assert [a["after"]["role"] for a in db.collection("audit").find().sort("created_at", 1)] == ["admin", "user"]


def test_an_admin_cannot_disable_or_demote_themselves(admin_client):
    path = f"/api/admin/users/{admin_client.user['id']}"
    for body in ({"disabled": True}, {"role": "user"}, {"role": "user", "disabled": False}):
        r = admin_client.patch(path, json=body)
        assert r.status_code == 409 and r.error_code == "cannot_change_self"
    assert admin_client.get("/api/admin/stats").status_code == 200
    assert admin_client.patch(path, json={"role": "admin"}).status_code == 200  # a no-op is fine, and not audited
    assert db.collection("audit").count_documents({}) == 0


@pytest.mark.parametrize("body", [{}, {"role": "owner"}, {"role": {"$ne": None}}, {"disabled": "yes"}, {"disabled": {"$ne": None}}, {"email": "x@y.z"}])
def test_bad_access_changes_are_400(admin_client, user, body):
    r = admin_client.patch(f"/api/admin/users/{user['id']}", json=body)
    assert r.status_code == 400
    assert db.collection("audit").count_documents({}) == 0


# --- credits -------------------------------------------------------------------

def test_adjustments_write_a_ledger_row_and_an_audit_row(admin_client, client, user):
    uid, admin_id = ObjectId(user["id"]), ObjectId(admin_client.user["id"])
    r = admin_client.post("/api/admin/credits", json={"user_id": user["id"], "amount": 100, "reason": "Refund for outage #12"})
    assert r.status_code == 201, r.text
    assert r.json()["balance"] == 150 and r.json()["delta"] == 100
    assert client.get("/api/auth/me").json()["user"]["credits"] == 150
    row = db.collection("ledger").find_one({"user_id": uid, "kind": "adjustment"})
    assert row["delta"] == 100 and row["admin_id"] == admin_id and row["reason"] == "Refund for outage #12" and row["balance_after"] == 150

    r = admin_client.post("/api/admin/credits", json={"user_id": user["id"], "amount": -150, "reason": "Chargeback"})
    assert r.status_code == 201 and r.json()["balance"] == 0
    entries = list(db.collection("audit").find().sort("created_at", 1))
    assert [(e["action"], e["before"]["credits"], e["after"]["credits"], e["after"]["delta"]) for e in entries] == [
        ("credits.adjust", 50, 150, 100), ("credits.adjust", 150, 0, -150)]
    assert all(e["admin_id"] == admin_id and e["admin_email"] == admin_client.user["email"] and e["target_user_id"] == uid for e in entries)
    assert entries[0]["after"]["reason"] == "Refund for outage #12"
    assert credits.reconcile(uid) == []


def test_an_adjustment_never_commits_without_its_audit_row(admin_client, user, monkeypatch):
    from lib.admin import audit

    def lost(*args, **kw):
        raise RuntimeError("the function was killed before the audit row was written")

    monkeypatch.setattr(audit, "record", lost)
    r = admin_client.post("/api/admin/credits", json={"user_id": user["id"], "amount": 100, "reason": "unaudited"})
    assert r.status_code == 500
    assert db.collection("users").find_one({"_id": ObjectId(user["id"])})["credits"] == 50
    assert db.collection("ledger").count_documents({"kind": "adjustment"}) == 0


def test_adjust_joins_the_callers_transaction(user):
    uid = ObjectId(user["id"])

    def then_fail(session):
        credits.adjust(uid, 10, ObjectId(), "rolled back", session=session)
        raise RuntimeError("the caller's next write failed")

    with pytest.raises(RuntimeError):
        db.transaction(then_fail)
    assert db.collection("users").find_one({"_id": uid})["credits"] == 50
    assert db.collection("ledger").count_documents({"kind": "adjustment"}) == 0


def test_taking_more_than_the_balance_is_409_and_changes_nothing(admin_client, user):
    r = admin_client.post("/api/admin/credits", json={"user_id": user["id"], "amount": -51, "reason": "too much"})
    assert r.status_code == 409 and r.error_code == "balance_would_go_negative"
    assert db.collection("users").find_one({"_id": ObjectId(user["id"])})["credits"] == 50
    assert db.collection("ledger").count_documents({"kind": "adjustment"}) == 0
    assert db.collection("audit").count_documents({}) == 0


@pytest.mark.parametrize(("patch", "status", "field"), [
    ({"amount": 0}, 400, "amount"),
    ({"amount": 1_000_001}, 400, "amount"),
    ({"amount": -1_000_001}, 400, "amount"),
    ({"amount": 1.5}, 400, "amount"),
    ({"amount": True}, 400, "amount"),
    ({"amount": "10"}, 400, "amount"),
    ({"amount": {"$ne": None}}, 400, "amount"),
    ({"reason": ""}, 400, "reason"),
    ({"reason": "r" * 501}, 400, "reason"),
    ({"reason": {"$ne": None}}, 400, "reason"),
    ({"user_id": {"$ne": None}}, 400, "user_id"),
    ({"user_id": "0123456789abcdef01234567"}, 404, None),
    ({"user_id": "zzz"}, 404, None),
])
def test_bad_adjustments(admin_client, user, patch, status, field):
    body = {"user_id": user["id"], "amount": 10, "reason": "because", **patch}
    r = admin_client.post("/api/admin/credits", json=body)
    assert r.status_code == status, r.text
    if field:
        assert r.json()["error"]["field"] == field
    assert db.collection("ledger").count_documents({"kind": "adjustment"}) == 0


def test_the_largest_adjustment_is_allowed(admin_client, user):
    r = admin_client.post("/api/admin/credits", json={"user_id": user["id"], "amount": 1_000_000, "reason": "r" * 500})
    assert r.status_code == 201 and r.json()["balance"] == 1_000_050


# --- stats and lists -------------------------------------------------------------

def insert_payment(user_id, when, status, amount_cents, refunded_cents=None, session_id=None):
    doc = {"user_id": user_id, "session_id": session_id or f"cs_test_{ObjectId()}", "pack_id": "starter", "pack_name": "Starter",
           "credits": 100, "amount_cents": amount_cents, "currency": "usd", "status": status, "created_at": when, "updated_at": when}
    if refunded_cents is not None:
        doc["refunded_cents"] = refunded_cents
    return db.collection("payments").insert_one(doc).inserted_id


def test_stats_match_the_hand_count(admin_client, user, new_client, monkeypatch):
    today = usage.window(1)[0]
    uid, other = ObjectId(user["id"]), ObjectId(sign_up(new_client())["id"])
    # Users: the admin, `user` and `other` signed up today; one more 10 days ago; one 40 days ago (outside).
    db.collection("users").insert_many([
        {"email": "old1@example.com", "credits": 0, "created_at": today - timedelta(days=10)},
        {"email": "old2@example.com", "credits": 0, "created_at": today - timedelta(days=40)},
    ])
    # Revenue: today 900 + 3900 (fully refunded); 3 days ago 12900 with 2000 refunded;
    # ignored: pending, failed, and a payment 40 days ago.
    insert_payment(uid, today + timedelta(hours=1), "succeeded", 900)
    insert_payment(uid, today + timedelta(minutes=5), "refunded", 3900, refunded_cents=3900)
    insert_payment(other, today - timedelta(days=3), "succeeded", 12900, refunded_cents=2000)
    insert_payment(uid, today, "pending", 12900)
    insert_payment(uid, today, "failed", 900)
    insert_payment(uid, today - timedelta(days=40), "succeeded", 900)
    # Usage: today user 2 (dashboard) + other 3 (api); 2 days ago user 1 failed (refunded); 35 days ago ignored.
    for i, (who, when, cost, model, source) in enumerate([(uid, today, 2, "object-detection", "dashboard"), (other, today, 3, "text-recognition", "api"),
                                           (uid, today - timedelta(days=2), 1, "text-recognition", "dashboard"),
                                           (uid, today - timedelta(days=35), 4, "text-recognition", "api")]):
        record_call(who, cost, model=model, source=source, when=when, failure="timeout" if i == 2 else None)

    r = admin_client.get("/api/admin/stats?days=30")
    assert r.status_code == 200, r.text
    body = r.json()
    key = lambda back: (today - timedelta(days=back)).strftime("%Y-%m-%d")  # noqa: E731
    assert body["days"] == 30 and body["from"] == key(29) and body["to"] == key(0)

    users = body["users"]
    assert users["total"] == 5 and users["new_in_window"] == 4
    new = {d["date"]: d["count"] for d in users["new_daily"]}
    assert len(new) == 30 and new[key(0)] == 3 and new[key(10)] == 1 and sum(new.values()) == 4

    revenue = {d["date"]: d for d in body["revenue"]["daily"]}
    assert revenue[key(0)] == {"date": key(0), "payments": 2, "gross_cents": 4800, "refunded_cents": 3900, "net_cents": 900}
    assert revenue[key(3)] == {"date": key(3), "payments": 1, "gross_cents": 12900, "refunded_cents": 2000, "net_cents": 10900}
    assert revenue[key(1)]["net_cents"] == 0
    assert body["revenue"]["totals"] == {"payments": 3, "gross_cents": 17700, "refunded_cents": 5900, "net_cents": 11800}

    use = body["usage"]
    assert use["totals"] == {"calls": 2, "credits": 5, "failed": 1}
    assert use["by_model"] == [{"model": "text-recognition", "calls": 1, "credits": 3, "failed": 1},
                               {"model": "object-detection", "calls": 1, "credits": 2, "failed": 0}]
    assert use["by_source"] == {"dashboard": {"calls": 1, "credits": 2, "failed": 1}, "api": {"calls": 1, "credits": 3, "failed": 0}}

    assert admin_client.get("/api/admin/stats?days=7").json()["users"]["new_in_window"] == 3
    assert admin_client.get("/api/admin/stats?days=366").status_code == 400


def test_payments_list_filters_by_status_and_names_the_payer(admin_client, user):
    uid = ObjectId(user["id"])
    now = datetime.now(UTC)
    insert_payment(uid, now - timedelta(minutes=2), "succeeded", 900, session_id="cs_a")
    insert_payment(uid, now - timedelta(minutes=1), "pending", 3900, session_id="cs_b")
    insert_payment(ObjectId(), now, "refunded", 900, refunded_cents=900, session_id="cs_c")  # a deleted account's
    body = admin_client.get("/api/admin/payments").json()
    assert [p["session_id"] for p in body["payments"]] == ["cs_c", "cs_b", "cs_a"] and body["total"] == 3
    assert [p["user_email"] for p in body["payments"]] == [None, user["email"], user["email"]]
    pending = admin_client.get("/api/admin/payments?status=pending").json()
    assert [p["session_id"] for p in pending["payments"]] == ["cs_b"]
    r = admin_client.get("/api/admin/payments?status=%7B%22%24ne%22%3A1%7D")
    assert r.status_code == 400 and r.error_code == "invalid_parameter"


def test_payments_needing_attention_are_flagged_and_both_admin_views_agree(admin_client, user):
    uid = ObjectId(user["id"])
    now = datetime.now(UTC)
    insert_payment(uid, now - timedelta(minutes=1), "succeeded", 900, session_id="cs_ok")
    flagged = insert_payment(uid, now, "failed", 900, session_id="cs_flagged")
    db.collection("payments").update_one({"_id": flagged}, {"$set": {"closed": True, "needs_attention": True}})
    listed = admin_client.get("/api/admin/payments").json()["payments"]
    assert [(p["session_id"], p["needs_attention"]) for p in listed] == [("cs_flagged", True), ("cs_ok", False)]
    detail = admin_client.get(f"/api/admin/users/{user['id']}").json()["payments"]
    # One field list for a payment: the platform list only adds the payer's email.
    assert [{k: v for k, v in p.items() if k != "user_email"} for p in listed] == detail


def test_every_paged_list_goes_through_the_shared_helper(admin_client, client, user, monkeypatch):
    from lib import pagination

    real, seen = pagination.page_of, []

    def spy(collection, query, **kw):
        seen.append((collection.name, kw.get("hint")))
        return real(collection, query, **kw)

    monkeypatch.setattr(pagination, "page_of", spy)
    for path in ("/api/admin/users", "/api/admin/payments", "/api/admin/messages", "/api/admin/audit"):
        assert admin_client.get(path).status_code == 200, path
    for path in ("/api/billing/transactions", "/api/account/usage/calls"):
        assert client.get(path).status_code == 200, path
    assert seen == [("users", [("created_at", 1)]), ("payments", None), ("messages", [("created_at", -1)]), ("audit", [("created_at", -1)]),
                    ("payments", None), ("ledger", usage.USER_KIND_TIME)]


def test_messages_list_newest_first(admin_client, anon):
    for n in range(3):
        anon.post("/api/contact", json={"name": f"Sender {n}", "email": f"s{n}@example.com", "message": f"hello {n}"})
    body = admin_client.get("/api/admin/messages").json()
    assert [m["message"] for m in body["messages"]] == ["hello 2", "hello 1", "hello 0"] and body["total"] == 3
    assert body["messages"][0]["email"] == "s2@example.com"


def test_audit_list_shows_every_admin_write(admin_client, user):
    admin_client.post("/api/admin/credits", json={"user_id": user["id"], "amount": 5, "reason": "thanks"})
    admin_client.patch(f"/api/admin/users/{user['id']}", json={"role": "admin"})
    body = admin_client.get("/api/admin/audit").json()
    assert [e["action"] for e in body["entries"]] == ["user.update", "credits.adjust"]
    entry = body["entries"][0]
    assert entry["admin_email"] == admin_client.user["email"] and entry["target_user_id"] == user["id"]
    assert entry["before"] == {"role": "user", "disabled": False} and entry["after"]["role"] == "admin" and entry["created_at"].endswith("Z")
    assert admin_client.get("/api/admin/audit?page=0").status_code == 400
