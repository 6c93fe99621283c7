"""A local fake of the slice of Stripe's API NexusPoint calls, recording what it was sent.

It speaks what stripe-python speaks: form-encoded bodies with bracketed keys
(`line_items[0][price_data][unit_amount]=900`), Bearer secret keys,
Idempotency-Key replays, and JSON objects and errors in Stripe's shapes.
Customers (create, retrieve, delete), Checkout Sessions (create, retrieve),
PaymentIntents (create, off-session with a saved card) and PaymentMethods (detach).
`fail_next(n)` makes the next n requests answer 500; `next_off_session(...)` sets
how the next off-session charges end ("succeed", "decline", "authenticate").
What Stripe would then send to the webhook piles up in `events`
(`complete_session` adds a paid Checkout's), for the test to deliver.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Call:
    method: str
    path: str
    headers: dict
    params: dict = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


def decode_form(body: str) -> dict:
    """Stripe's form encoding back into nested dicts and lists (values stay strings)."""
    out: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(out)


def _lists(node):
    if not isinstance(node, dict):
        return node
    node = {k: _lists(v) for k, v in node.items()}
    if node and all(k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def stripe_error(status: int, message: str, *, type_: str = "invalid_request_error", code: str | None = None, param: str | None = None):
    error = {"type": type_, "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return status, {"error": error}


def event(kind: str, obj: dict, event_id: str | None = None) -> dict:
    """A webhook event around `obj`, as Stripe sends it."""
    return {
        "id": event_id or _id("evt"), "object": "event", "api_version": "2026-10-28", "created": int(time.time()),
        "data": {"object": obj}, "livemode": False, "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None}, "type": kind,
    }


CARD = {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034, "funding": "credit", "country": "US"}
DECLINES = {  # outcome -> (code, decline_code, message), as Stripe's card_error for off-session confirmation
    "decline": ("card_declined", "generic_decline", "Your card was declined."),
    "authenticate": ("authentication_required", "authentication_required",
                     "Your card was declined. This transaction requires authentication."),
}


class FakeStripe:
    def __init__(self):
        self.calls: list[Call] = []
        self.customers: dict[str, dict] = {}
        self.sessions: dict[str, dict] = {}
        self.payment_methods: dict[str, dict] = {}
        self.intents: dict[str, dict] = {}
        self.events: list[dict] = []
        self._outcomes: list[str] = []
        self._replays: dict[str, tuple[int, dict]] = {}
        self._failures = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- control -------------------------------------------------------------
    def start(self) -> FakeStripe:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake._serve(self)

            def do_POST(self):
                fake._serve(self)

            def do_DELETE(self):
                fake._serve(self)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail_next(self, times: int = 1) -> None:
        self._failures += times

    def next_off_session(self, *outcomes: str) -> None:
        """How the next off-session confirmations end, in order; after them, "succeed"."""
        assert all(o in ("succeed", *DECLINES) for o in outcomes)
        self._outcomes += outcomes

    def take_events(self) -> list[dict]:
        out, self.events = self.events, []
        return out

    def saved_card(self, customer: str) -> str:
        """A card PaymentMethod attached to `customer` (what setup_future_usage leaves behind)."""
        pm = {"id": _id("pm"), "object": "payment_method", "type": "card", "customer": customer, "card": dict(CARD), "livemode": False}
        self.payment_methods[pm["id"]] = pm
        return pm["id"]

    def _charge(self, intent: dict, *, receipt: bool = True) -> dict:
        charge_id = _id("ch")
        return {
            "id": charge_id, "object": "charge", "amount": intent["amount"], "amount_captured": intent["amount"], "amount_refunded": 0,
            "captured": True, "created": int(time.time()), "currency": intent["currency"], "customer": intent["customer"],
            "livemode": False, "metadata": intent["metadata"], "paid": True, "payment_intent": intent["id"],
            "payment_method": intent["payment_method"], "payment_method_details": {"type": "card", "card": dict(CARD)},
            "receipt_url": f"https://pay.stripe.com/receipts/payment/{secrets.token_urlsafe(24)}" if receipt else None,
            "refunded": False, "status": "succeeded",
        }

    def complete_session(self, session_id: str) -> list[dict]:
        """The customer pays a Checkout Session: the events Stripe sends (charge, session, invoice), also added to `events`."""
        session = self.sessions[session_id]
        params = session["_params"]
        intent_data = params.get("payment_intent_data", {})
        pm = self.saved_card(session["customer"]) if intent_data.get("setup_future_usage") == "off_session" else _id("pm")
        intent = {"id": _id("pi"), "object": "payment_intent", "amount": session["amount_total"], "currency": session["currency"],
                  "customer": session["customer"], "payment_method": pm, "metadata": intent_data.get("metadata", {}), "status": "succeeded"}
        self.intents[intent["id"]] = intent
        session.update(payment_intent=intent["id"], payment_status="paid", status="complete")
        public = {k: v for k, v in session.items() if not k.startswith("_")}
        out = [event("charge.succeeded", self._charge(intent)), event("checkout.session.completed", public)]
        invoice = params.get("invoice_creation", {})
        if invoice.get("enabled") == "true":
            invoice_id = _id("in")
            out.append(event("invoice.paid", {
                "id": invoice_id, "object": "invoice", "customer": session["customer"], "status": "paid",
                "amount_paid": session["amount_total"], "currency": session["currency"],
                "metadata": invoice.get("invoice_data", {}).get("metadata", {}),
                "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_test/{invoice_id}",
                "invoice_pdf": f"https://pay.stripe.com/invoice/acct_test/{invoice_id}/pdf",
            }))
        self.events += out
        return out

    def requests_to(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path == path]

    # -- HTTP ------------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else parts.query
        call = Call(handler.command, parts.path, {k.lower(): v for k, v in handler.headers.items()}, decode_form(body))
        with self._lock:  # one at a time, like a single Stripe account's idempotency layer
            self.calls.append(call)
            status, payload, replayed = self._answer(call)
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Request-Id", _id("req"))
        if replayed:
            handler.send_header("Idempotent-Replayed", "true")
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(self, call: Call) -> tuple[int, dict, bool]:
        if not call.headers.get("authorization", "").startswith("Bearer sk_test_"):
            return (*stripe_error(401, "Invalid API Key provided."), False)
        if self._failures:
            self._failures -= 1
            return (*stripe_error(500, "An unknown error occurred.", type_="api_error"), False)
        key = call.idempotency_key if call.method == "POST" else None
        if key and key in self._replays:
            return (*self._replays[key], True)
        status, payload = self._route(call)
        if key:
            self._replays[key] = (status, payload)
        return status, payload, False

    def _route(self, call: Call) -> tuple[int, dict]:
        m = re.fullmatch(r"/v1/customers(?:/(\w+))?", call.path)
        if m:
            return self._customers(call, m.group(1))
        m = re.fullmatch(r"/v1/checkout/sessions(?:/(\w+))?", call.path)
        if m:
            return self._sessions(call, m.group(1))
        if call.method == "POST" and call.path == "/v1/payment_intents":
            return self._create_intent(call.params)
        m = re.fullmatch(r"/v1/payment_methods/(\w+)/detach", call.path)
        if m and call.method == "POST":
            return self._detach(m.group(1))
        return stripe_error(404, f"Unrecognized request URL ({call.method}: {call.path}).")

    def _customers(self, call: Call, customer_id: str | None) -> tuple[int, dict]:
        if call.method == "POST" and customer_id is None:
            p = call.params
            customer = {
                "id": _id("cus"), "object": "customer", "created": int(time.time()), "email": p.get("email"),
                "name": p.get("name"), "metadata": p.get("metadata", {}), "livemode": False, "balance": 0,
                "currency": None, "default_source": None, "delinquent": False, "description": None,
            }
            self.customers[customer["id"]] = customer
            return 200, customer
        if customer_id not in self.customers:
            return stripe_error(404, f"No such customer: '{customer_id}'", code="resource_missing", param="id")
        if call.method == "DELETE":
            del self.customers[customer_id]
            return 200, {"id": customer_id, "object": "customer", "deleted": True}
        return 200, self.customers[customer_id]

    def _sessions(self, call: Call, session_id: str | None) -> tuple[int, dict]:
        if call.method == "GET" and session_id in self.sessions:
            return 200, self.sessions[session_id]
        if call.method != "POST" or session_id is not None:
            return stripe_error(404, f"No such checkout.session: '{session_id}'", code="resource_missing", param="session")
        p = call.params
        customer = p.get("customer")
        if customer and customer not in self.customers:
            return stripe_error(400, f"No such customer: '{customer}'", code="resource_missing", param="customer")
        for name in ("mode", "success_url", "line_items"):
            if not p.get(name):
                return stripe_error(400, f"Missing required param: {name}.", code="parameter_missing", param=name)
        total = sum(int(i["price_data"]["unit_amount"]) * int(i.get("quantity", 1)) for i in p["line_items"])
        now = int(time.time())
        session_id = f"cs_test_{secrets.token_hex(24)}"
        session = {
            "id": session_id, "object": "checkout.session", "amount_subtotal": total, "amount_total": total,
            "cancel_url": p.get("cancel_url"), "client_reference_id": p.get("client_reference_id"), "created": now,
            "currency": p["line_items"][0]["price_data"]["currency"], "customer": customer, "customer_email": None,
            "expires_at": now + 86400, "livemode": False, "metadata": p.get("metadata", {}), "mode": p["mode"],
            "payment_intent": None, "payment_status": "unpaid", "status": "open", "success_url": p["success_url"],
            "url": f"https://checkout.stripe.com/c/pay/{session_id}#fidkdWxOYHwnPyd1blpxYHZxWjA0",
        }
        self.sessions[session_id] = {**session, "_params": p}
        return 200, session

    def _detach(self, pm_id: str) -> tuple[int, dict]:
        pm = self.payment_methods.get(pm_id)
        if pm is None or pm["customer"] is None:
            return stripe_error(400 if pm else 404, f"No such PaymentMethod: '{pm_id}'", code="resource_missing", param="payment_method")
        pm["customer"] = None
        return 200, pm

    def _create_intent(self, p: dict) -> tuple[int, dict]:
        for name in ("amount", "currency"):
            if not p.get(name):
                return stripe_error(400, f"Missing required param: {name}.", code="parameter_missing", param=name)
        if p.get("off_session") == "true" and p.get("confirm") != "true":
            return stripe_error(400, "off_session can only be used with confirm=true.", param="off_session")
        pm = self.payment_methods.get(p.get("payment_method"))
        if pm is None or pm["customer"] != p.get("customer"):
            return stripe_error(400, f"No such PaymentMethod: '{p.get('payment_method')}'", code="resource_missing", param="payment_method")
        intent = {
            "id": _id("pi"), "object": "payment_intent", "amount": int(p["amount"]), "currency": p["currency"],
            "customer": p["customer"], "payment_method": pm["id"], "metadata": p.get("metadata", {}),
            "off_session": True, "confirmation_method": "automatic", "livemode": False, "created": int(time.time()),
            "description": p.get("description"), "last_payment_error": None, "latest_charge": None, "status": "succeeded",
        }
        self.intents[intent["id"]] = intent
        outcome = self._outcomes.pop(0) if self._outcomes else "succeed"
        if outcome == "succeed":
            charge = self._charge(intent)
            intent["latest_charge"] = charge["id"]
            self.events += [event("charge.succeeded", charge), event("payment_intent.succeeded", intent)]
            return 200, intent
        code, decline_code, message = DECLINES[outcome]
        error = {"type": "card_error", "code": code, "decline_code": decline_code, "message": message, "payment_method": pm}
        intent.update(status="requires_payment_method", last_payment_error=error)
        self.events.append(event("payment_intent.payment_failed", intent))
        return 402, {"error": {**error, "payment_intent": intent}}
