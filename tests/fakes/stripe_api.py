"""A local fake of the slice of Stripe's API NexusPoint calls, recording what it was sent.

It speaks what stripe-python speaks: form-encoded bodies with bracketed keys
(`line_items[0][price_data][unit_amount]=900`), Bearer secret keys,
Idempotency-Key replays, and JSON objects and errors in Stripe's shapes.
Customers (create, retrieve, delete) and Checkout Sessions (create, retrieve).
`fail_next(n)` makes the next n requests answer 500.
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


class FakeStripe:
    def __init__(self):
        self.calls: list[Call] = []
        self.customers: dict[str, dict] = {}
        self.sessions: dict[str, dict] = {}
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
        self.sessions[session_id] = session
        return 200, session
