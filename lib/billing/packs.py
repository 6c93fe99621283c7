"""The credit packs on sale (from `config.settings().credit_packs`) and GET /api/billing/packs."""

from __future__ import annotations

from lib import config

CURRENCY = "usd"  # every price is in US cents (policy §1.2)


def all_packs() -> list[dict]:
    return [dict(p) for p in config.settings().credit_packs]


def find(pack_id: str) -> dict | None:
    return next((p for p in all_packs() if p["id"] == pack_id), None)


def public_view(pack: dict) -> dict:
    return {"id": pack["id"], "name": pack["name"], "credits": pack["credits"], "price_cents": pack["price_cents"], "currency": CURRENCY}


def list_packs(req) -> dict:
    return {"packs": [public_view(p) for p in all_packs()]}


def money(cents: int, currency: str = CURRENCY) -> str:
    """"$9.00" for the pages and mail (USD only; other currencies as "12.00 EUR")."""
    amount = f"{cents // 100:,}.{cents % 100:02d}"
    return f"${amount}" if currency.lower() == "usd" else f"{amount} {currency.upper()}"
