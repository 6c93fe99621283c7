"""GET /api/billing/packs: what is on sale, from the settings, to anyone."""

import json


def test_default_packs_are_listed_without_signing_in(anon):
    r = anon.get("/api/billing/packs")
    assert r.status_code == 200
    assert r.json()["packs"] == [
        {"id": "starter", "name": "Starter", "credits": 100, "price_cents": 900, "currency": "usd"},
        {"id": "pro", "name": "Pro", "credits": 500, "price_cents": 3900, "currency": "usd"},
        {"id": "scale", "name": "Scale", "credits": 2000, "price_cents": 12900, "currency": "usd"},
    ]


def test_packs_come_from_the_credit_packs_setting(anon, settings):
    settings(CREDIT_PACKS=json.dumps([{"id": "tiny", "name": "Tiny", "credits": 10, "price_cents": 99}]))
    assert anon.get("/api/billing/packs").json()["packs"] == [
        {"id": "tiny", "name": "Tiny", "credits": 10, "price_cents": 99, "currency": "usd"},
    ]


def test_packs_is_read_only(anon):
    r = anon.post("/api/billing/packs", json={})
    assert r.status_code == 405 and r.error_code == "method_not_allowed"
