"""The local Checkout stand-in at /_local/checkout/<session id>: Stripe's hosted page for `make dev`
without Stripe keys. Never deployed.

It shows the pack and the price with Pay and Cancel. Pay does what Stripe does
when a card is accepted: it sends `charge.succeeded` and
`checkout.session.completed` (Stripe's JSON shapes, signed as Stripe signs
them with the local webhook secret; `invoice.paid` too when an invoice was
asked for) over HTTP to the real /api/billing/webhook at SITE_URL, then sends
the browser to the success URL. Nothing in api/ or lib/ can tell it from
Stripe: the credits arrive through the webhook.

Auto top-up: the test card is saved (`pm_local_card`). The cron job charges it
off-session at `POST /_local/checkout/off-session` (Stripe's PaymentIntent
create, with idempotency keys); `/_local/checkout/card` sets how the next
off-session charge ends: succeed, decline, or need authentication.
`/_local/checkout/receipt/<payment id>` is the printable receipt (or invoice)
that `receipt_url` and `invoice_pdf` point to.

An invoice asked for (`invoice: true`): the page asks for the company name,
the billing address and a tax id, as Checkout's `tax_id_collection` does. Like
Stripe, the stand-in keeps them itself (in `standin_state`), sends them in the
session's `customer_details` and on the invoice, and prints them on the invoice;
the app stores only the links.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime

from bson import ObjectId
from bson.errors import InvalidId

from lib import config, db
from lib.billing import packs
from lib.billing.checkout import LOCAL_CHECKOUT_PATH, return_urls
from lib.http import security

PREFIX = LOCAL_CHECKOUT_PATH
# Served as a file: the CSP forbids inline styles.
STYLESHEET = """
:root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: #f6f7f9; color: #141821; }
.sheet { width: min(420px, calc(100vw - 32px)); background: #fff; border: 1px solid #d3d8df; border-radius: 14px;
  box-shadow: 0 8px 24px rgba(16, 24, 40, .08); padding: 28px 28px 20px; }
.badge { display: inline-block; margin: 0 0 18px; padding: 3px 10px; border-radius: 999px; background: #fff4e0;
  color: #8a4b00; font-size: 12px; font-weight: 600; }
.merchant { margin: 0; color: #545d6b; font-weight: 600; }
h1 { margin: 4px 0 0; font-size: 22px; }
.amount { margin: 6px 0 18px; font-size: 34px; font-weight: 700; letter-spacing: -.02em; }
dl { display: grid; grid-template-columns: auto 1fr; gap: 8px 16px; margin: 0 0 22px; padding: 14px 0;
  border-top: 1px solid #e6e9ee; border-bottom: 1px solid #e6e9ee; }
dt { color: #545d6b; } dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
form { margin: 0 0 10px; }
button { width: 100%; padding: 12px 16px; border-radius: 8px; font: inherit; font-weight: 600; cursor: pointer; }
button:focus-visible { outline: 3px solid #1a66ff; outline-offset: 2px; }
.pay { border: 0; background: #3b32b8; color: #fff; } .pay:hover { background: #2d2591; }
.cancel { border: 1px solid #d3d8df; background: #fff; color: #141821; } .cancel:hover { background: #f0f2f5; }
fieldset { border: 0; margin: 0 0 18px; padding: 0; } legend { font-weight: 600; margin-bottom: 8px; }
label { display: block; margin: 10px 0 4px; color: #545d6b; font-size: 14px; }
input[type=text] { box-sizing: border-box; width: 100%; padding: 10px 12px; border: 1px solid #d3d8df; border-radius: 8px; font: inherit; }
.error { color: #b3261e; font-weight: 600; }
.note { margin: 14px 0 0; color: #545d6b; font-size: 13px; line-height: 1.45; }
pre { white-space: pre-wrap; background: #f0f2f5; padding: 10px; border-radius: 8px; font-size: 12px; }
code { font-size: 12px; }
"""
TEST_CARD = {"brand": "visa", "last4": "4242", "funding": "credit", "country": "US"}
SAVED_CARD = "pm_local_card"  # the stand-in's one card, saved for auto top-up
OUTCOMES = {  # next off-session charge -> (Stripe error code, message); "succeed" has none
    "succeed": None,
    "decline": ("card_declined", "Your card was declined."),
    "authenticate": ("authentication_required", "Your card was declined. This transaction requires authentication."),
}


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _event(kind: str, obj: dict) -> dict:
    return {
        "id": _id("evt"), "object": "event", "api_version": "2026-10-28", "created": int(time.time()),
        "data": {"object": obj}, "livemode": False, "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None}, "type": kind,
    }


def _metadata(payment: dict) -> dict:
    out = {"user_id": str(payment["user_id"]), "pack_id": payment["pack_id"], "payment_id": str(payment["_id"])}
    return {**out, "purpose": payment["purpose"]} if payment.get("purpose") else out


def _receipt_url(payment: dict, invoice: bool = False) -> str:
    return f"{config.settings().site_url}{PREFIX}/receipt/{payment['_id']}" + ("?invoice=1" if invoice else "")


def charge_object(payment: dict, intent: str, customer: str | None) -> dict:
    amount, currency = payment["amount_cents"], payment.get("currency", packs.CURRENCY)
    return {
        "id": _id("ch"), "object": "charge", "amount": amount, "amount_captured": amount, "amount_refunded": 0,
        "captured": True, "created": int(time.time()), "currency": currency, "customer": customer, "livemode": False,
        "metadata": _metadata(payment), "paid": True, "payment_intent": intent, "payment_method": SAVED_CARD,
        "payment_method_details": {"type": "card", "card": {**TEST_CARD, "exp_month": 12, "exp_year": datetime.now(UTC).year + 3}},
        "receipt_url": _receipt_url(payment), "refunded": False, "status": "succeeded",
    }


def payment_events(payment: dict, customer: str | None, billing: dict | None = None) -> list[dict]:
    """What Stripe sends when the card is accepted: the charge (with the card), the session, the invoice if asked for.

    `billing`: what the invoice form collected ({company, address, tax_id}), copied where Stripe puts it."""
    intent = _id("pi")
    amount, currency = payment["amount_cents"], payment.get("currency", packs.CURRENCY)
    metadata = _metadata(payment)
    charge = charge_object(payment, intent, customer)
    success_url, cancel_url = return_urls()
    session = {
        "id": payment["session_id"], "object": "checkout.session", "amount_subtotal": amount, "amount_total": amount,
        "cancel_url": cancel_url, "client_reference_id": str(payment["user_id"]), "created": int(payment["created_at"].timestamp()),
        "currency": currency, "customer": customer, "expires_at": int(payment["created_at"].timestamp()) + 86400,
        "livemode": False, "metadata": metadata, "mode": "payment", "payment_intent": intent,
        "payment_status": "paid", "status": "complete", "success_url": success_url, "url": None,
    }
    tax_ids = [{"type": "unknown", "value": billing["tax_id"]}] if billing and billing.get("tax_id") else []
    if billing:
        session["customer_details"] = {"name": billing["company"], "address": {"line1": billing.get("address") or None},
                                       "tax_exempt": "none", "tax_ids": tax_ids}
    events = [_event("charge.succeeded", charge), _event("checkout.session.completed", session)]
    if payment.get("invoice_requested"):
        invoice = _id("in")
        events.append(_event("invoice.paid", {
            "id": invoice, "object": "invoice", "customer": customer, "status": "paid", "amount_paid": amount, "currency": currency,
            "metadata": metadata, "hosted_invoice_url": _receipt_url(payment, True), "invoice_pdf": _receipt_url(payment, True),
            "customer_name": (billing or {}).get("company"), "customer_address": {"line1": (billing or {}).get("address") or None},
            "customer_tax_ids": tax_ids,
        }))
    return events


def signature_header(payload: str, secret: str, timestamp: int | None = None) -> str:
    """Stripe's scheme: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def _webhook_url() -> str:
    # Where Stripe would call the deployment: SITE_URL, like every link we send (not the request's Host header).
    return f"{config.settings().site_url}/api/billing/webhook"


def send(webhook_url: str, event: dict) -> None:
    payload = json.dumps(event, indent=2)  # Stripe's bodies are pretty-printed too
    request = urllib.request.Request(webhook_url, data=payload.encode(), method="POST", headers={
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        "Stripe-Signature": signature_header(payload, config.settings().stripe_webhook_secret),
    })
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)} · NexusPoint test checkout</title>"
        f"<link rel=stylesheet href='{PREFIX}/standin.css'></head><body><main class=sheet>"
        "<p class=badge>Local test checkout · no money moves</p>"
        f"{body}</main></body></html>"
    )


BILLING_FIELDS = {"company": 120, "address": 200, "tax_id": 40}  # name -> longest value kept


def _billing_form(error: str = "") -> str:
    """The invoice details Checkout asks for with tax_id_collection: company name (required), address, tax id."""
    return f"""<fieldset><legend>Invoice details</legend>
{f"<p class=error role=alert>{html.escape(error)}</p>" if error else ""}
<label for=company>Company name</label><input type=text id=company name=company required maxlength={BILLING_FIELDS["company"]} autocomplete=organization>
<label for=address>Billing address</label><input type=text id=address name=address maxlength={BILLING_FIELDS["address"]} autocomplete=street-address>
<label for=tax_id>Tax ID (VAT, GST, EIN…)</label><input type=text id=tax_id name=tax_id maxlength={BILLING_FIELDS["tax_id"]}>
</fieldset>"""


def _checkout_page(payment: dict, error: str = "") -> str:
    price = packs.money(payment["amount_cents"], payment.get("currency", packs.CURRENCY))
    action = f"{PREFIX}/{html.escape(payment['session_id'])}"
    billing = _billing_form(error) if payment.get("invoice_requested") else ""
    return _page(f"Pay {price}", f"""
<p class=merchant>NexusPoint</p>
<h1>{html.escape(payment["pack_name"])} pack</h1>
<p class=amount>{price}</p>
<dl>
  <dt>Credits</dt><dd>{payment["credits"]:,}</dd>
  <dt>Card</dt><dd>Visa •••• 4242 (test card)</dd>
</dl>
<form method=post action="{action}/pay">{billing}<button class=pay type=submit>Pay {price}</button></form>
<form method=post action="{action}/cancel"><button class=cancel type=submit>Cancel and go back</button></form>
<p class=note>This page stands in for Stripe Checkout because no Stripe keys are set. Pay sends the
signed webhook events Stripe would send to <code>/api/billing/webhook</code>.</p>""")


def _form(environ, limit: int = 2000) -> dict:
    size = int(environ.get("CONTENT_LENGTH") or 0)
    return dict(urllib.parse.parse_qsl(environ["wsgi.input"].read(min(size, limit)).decode(errors="replace")))


def _billing_details(environ) -> dict | None:
    """The invoice form's values, trimmed and cut to size; None without a company name."""
    form = _form(environ)
    details = {name: " ".join(form.get(name, "").split())[:size] for name, size in BILLING_FIELDS.items()}
    return details if details["company"] else None


def _respond(start_response, status: str, body: str = "", headers: list | None = None, ctype: str = "text/html; charset=utf-8"):
    data = body.encode()
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(data))), *security.headers().items(), *(headers or [])])
    return [data]


def _redirect(start_response, location: str):
    return _respond(start_response, "303 See Other", headers=[("Location", location)])


def _pay(environ, start_response, payment: dict):
    success_url, _ = return_urls()
    if payment["status"] != "pending":
        return _redirect(start_response, success_url)  # paid already (a second click): nothing to do
    billing = None
    if payment.get("invoice_requested"):
        billing = _billing_details(environ)
        if billing is None:
            return _respond(start_response, "400 Bad Request", _checkout_page(payment, "Enter the company name the invoice is made out to."))
        _state().update_one({"_id": f"invoice:{payment['_id']}"}, {"$set": billing}, upsert=True)
    user = db.collection("users").find_one({"_id": payment["user_id"]}, {"stripe_customer_id": 1}) or {}
    webhook_url = _webhook_url()
    try:
        for event in payment_events(payment, user.get("stripe_customer_id"), billing):
            send(webhook_url, event)
    except OSError as exc:  # urllib's URLError and HTTPError are OSErrors
        detail = exc.read().decode(errors="replace")[:500] if isinstance(exc, urllib.error.HTTPError) else str(exc)
        return _respond(start_response, "502 Bad Gateway", _page("Webhook failed", (
            "<h1>The webhook refused the payment</h1>"
            f"<p>POST {html.escape(webhook_url)} answered:</p><pre>{html.escape(detail)}</pre>"
            f"<p><a href='{PREFIX}/{html.escape(payment['session_id'])}'>Back to the checkout</a></p>")))
    return _redirect(start_response, success_url)


def _state():
    """The stand-in's own memory (what Stripe would keep): the next off-session outcome, replies by idempotency key."""
    return db.collection("standin_state")


def next_outcome() -> str:
    return (_state().find_one({"_id": "next_off_session"}) or {}).get("outcome", "succeed")


def _off_session(environ, start_response):
    """Stripe's PaymentIntent create with off_session=true, confirm=true, for the saved test card."""
    try:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(min(size, 10_000)))
        payment = db.collection("payments").find_one({"_id": ObjectId(body["payment_id"]), "purpose": "auto_topup"})
        key = str(body["idempotency_key"])[:255]
    except (ValueError, KeyError, TypeError, InvalidId):
        payment = None
    if payment is None:
        return _respond(start_response, "404 Not Found", json.dumps({"error": {"code": "resource_missing"}}), ctype="application/json")
    replay = _state().find_one({"_id": f"key:{key}"})
    if replay is None:
        intent, outcome = _id("pi"), next_outcome()
        _state().update_one({"_id": "next_off_session"}, {"$set": {"outcome": "succeed"}}, upsert=True)  # one charge each
        user = db.collection("users").find_one({"_id": payment["user_id"]}, {"stripe_customer_id": 1}) or {}
        obj = {"id": intent, "object": "payment_intent", "amount": payment["amount_cents"], "currency": payment["currency"],
               "customer": user.get("stripe_customer_id"), "payment_method": SAVED_CARD, "metadata": _metadata(payment),
               "off_session": True, "status": "succeeded", "last_payment_error": None}
        if OUTCOMES[outcome] is None:
            events = [_event("charge.succeeded", charge_object(payment, intent, obj["customer"])), _event("payment_intent.succeeded", obj)]
            replay = {"status": "200 OK", "body": {"id": intent, "object": "payment_intent", "status": "succeeded"}}
        else:
            code, message = OUTCOMES[outcome]
            obj.update(status="requires_payment_method",
                       last_payment_error={"type": "card_error", "code": code, "decline_code": code, "message": message})
            events = [_event("payment_intent.payment_failed", obj)]
            replay = {"status": "402 Payment Required",
                      "body": {"error": {"type": "card_error", "code": code, "message": message, "payment_intent": intent}}}
        _state().insert_one({"_id": f"key:{key}", **replay})
        for event in events:  # Stripe sends these on its own; a webhook that fails here shows in the dev server's log
            try:
                send(_webhook_url(), event)
            except OSError as exc:
                print(f"[stand-in] webhook {event['type']} failed: {exc}", flush=True)
    return _respond(start_response, replay["status"], json.dumps(replay["body"]), ctype="application/json")


def _card_page() -> str:
    current = next_outcome()
    buttons = "".join(
        f"<form method=post action='{PREFIX}/card'><input type=hidden name=outcome value={name}>"
        f"<button class='{'pay' if name == current else 'cancel'}' type=submit>Next off-session charge: {name}</button></form>"
        for name in OUTCOMES)
    return _page("Saved card", f"""
<p class=merchant>NexusPoint</p>
<h1>Saved test card</h1>
<dl><dt>Card</dt><dd>Visa •••• 4242 (<code>{SAVED_CARD}</code>)</dd><dt>Next off-session charge</dt><dd id=next-outcome>{current}</dd></dl>
{buttons}
<p class=note>Auto top-up charges this card from the cron job. Pick how the next charge ends: it succeeds, is declined
(<code>card_declined</code>), or needs authentication (<code>authentication_required</code>).</p>""")


def _set_outcome(environ, start_response):
    form = _form(environ, 1000)
    if form.get("outcome") in OUTCOMES:
        _state().update_one({"_id": "next_off_session"}, {"$set": {"outcome": form["outcome"]}}, upsert=True)
    return _redirect(start_response, f"{PREFIX}/card")


def _receipt_page(payment_id: str, invoice: bool):
    try:
        payment = db.collection("payments").find_one({"_id": ObjectId(payment_id), "status": {"$in": ["succeeded", "refunded"]}})
    except InvalidId:
        payment = None
    if payment is None:
        return None
    title = "Invoice" if invoice else "Receipt"
    price = packs.money(payment["amount_cents"], payment.get("currency", packs.CURRENCY))
    paid = (payment.get("succeeded_at") or payment["created_at"]).strftime("%d %B %Y")
    refunded = payment.get("refunded_cents", 0)
    billing = (_state().find_one({"_id": f"invoice:{payment['_id']}"}) or {}) if invoice else {}
    billed = "".join(f"<dt>{label}</dt><dd>{html.escape(billing[name])}</dd>"
                     for name, label in (("company", "Billed to"), ("address", "Address"), ("tax_id", "Tax ID")) if billing.get(name))
    return _page(f"{title} {payment_id}", f"""
<p class=merchant>NexusPoint</p>
<h1>{title} for your payment</h1>
<p class=amount>{price}</p>
<dl>
  <dt>{title} number</dt><dd>{html.escape(payment_id)}</dd>
  {billed}
  <dt>Date paid</dt><dd>{paid}</dd>
  <dt>Item</dt><dd>{html.escape(payment["pack_name"])} pack, {payment["credits"]:,} credits</dd>
  <dt>Paid with</dt><dd>Visa •••• 4242</dd>
  {f"<dt>Refunded</dt><dd>{packs.money(refunded)}</dd>" if refunded else ""}
</dl>
<p class=note>Printable test {title.lower()} from the local Checkout stand-in; with Stripe keys set, Stripe issues the real one.</p>""")


def app(environ, start_response):
    method = environ.get("REQUEST_METHOD", "GET").upper()
    parts = environ.get("PATH_INFO", "")[len(PREFIX):].strip("/").split("/")
    if parts == ["standin.css"]:
        return _respond(start_response, "200 OK", STYLESHEET, ctype="text/css; charset=utf-8")
    if parts == ["off-session"] and method == "POST":
        return _off_session(environ, start_response)
    if parts == ["card"]:
        return _set_outcome(environ, start_response) if method == "POST" else _respond(start_response, "200 OK", _card_page())
    if len(parts) == 2 and parts[0] == "receipt":
        page = _receipt_page(parts[1], "invoice=1" in environ.get("QUERY_STRING", ""))
        if page:
            return _respond(start_response, "200 OK", page)
    session_id, action = parts[0], "/".join(parts[1:])
    payment = db.collection("payments").find_one({"session_id": session_id}) if session_id.startswith("cs_local_") else None
    if payment is None or action not in ("", "pay", "cancel"):
        return _respond(start_response, "404 Not Found", _page("Not found", "<h1>No such checkout</h1><p>Start again from your billing page.</p>"))
    if action == "" and method in ("GET", "HEAD"):
        if payment["status"] != "pending":
            return _respond(start_response, "200 OK", _page("Done", (
                f"<h1>This checkout is {html.escape(payment['status'])}</h1>"
                f"<p><a href='{html.escape(return_urls()[0])}'>Back to billing</a></p>")))
        return _respond(start_response, "200 OK", _checkout_page(payment))
    if method != "POST" or action == "":
        return _respond(start_response, "405 Method Not Allowed", _page("Not allowed", "<h1>Use the buttons on the checkout page</h1>"))
    if action == "cancel":
        return _redirect(start_response, return_urls()[1])
    return _pay(environ, start_response, payment)
