"""Buying a pack without Stripe keys, end to end over HTTP: the dev server, the local Checkout
stand-in, and the signed webhook it sends back to the server's real /api/billing/webhook."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.cookiejar import CookieJar
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.test_accounts_flow import verify_link_from_outbox
from tests.fixtures.accounts import PASSWORD


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # let the test see the 303 and where it points


class Browser:
    """urllib with a cookie jar, sending our Origin as the pages (and a form post) do."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect)

    def request(self, method: str, url: str, *, json_body=None, form: bytes | None = None):
        url = url if url.startswith("http") else self.base + url
        data, headers = None, {"Origin": self.base}
        if json_body is not None:
            data, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
        elif form is not None:
            data, headers["Content-Type"] = form, "application/x-www-form-urlencoded"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def json(self, method: str, path: str, body=None):
        status, _, raw = self.request(method, path, json_body=body)
        return status, json.loads(raw) if raw else None


@pytest.fixture
def buyer(dev_server, dev_server_process):
    """A new person signed in on the dev server, their address verified from the mailed link."""
    browser = Browser(dev_server)
    email = f"grace-{uuid.uuid4().hex[:12]}@example.com"
    status, body = browser.json("POST", "/api/auth/register", {
        "first_name": "Grace", "last_name": "Hopper", "email": email, "password": PASSWORD, "age_confirmed": True,
    })
    assert status == 201, body
    link = verify_link_from_outbox(dev_server_process, email)
    status, body = browser.json("POST", "/api/auth/verify", {"token": parse_qs(urlsplit(link).fragment)["token"][0]})
    assert status == 200, body
    return browser


def _checkout(browser: Browser, pack_id: str = "starter") -> str:
    status, body = browser.json("POST", "/api/billing/checkout", {"pack_id": pack_id})
    assert status == 200, body
    assert body["url"].startswith(browser.base + "/_local/checkout/cs_local_")
    return body["url"]


def test_pay_on_the_stand_in_and_the_credits_arrive(buyer, dev_server, dev_server_process):
    url = _checkout(buyer)

    status, headers, page = buyer.request("GET", url)
    html = page.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "Starter pack" in html and "$9.00" in html and "100" in html and ">Pay $9.00<" in html
    assert "<script" not in html and "<style" not in html and " style=" not in html  # the CSP allows neither
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    sheet = html.split("rel=stylesheet href='")[1].split("'")[0]
    status, headers, _ = buyer.request("GET", sheet)
    assert status == 200 and headers["Content-Type"].startswith("text/css")

    status, headers, _ = buyer.request("POST", url + "/pay", form=b"")
    assert status == 303 and headers["Location"] == dev_server + "/dashboard/billing?checkout=success"

    status, me = buyer.json("GET", "/api/auth/me")
    assert me["user"]["credits"] == 150
    status, history = buyer.json("GET", "/api/billing/transactions")
    [item] = history["items"]
    assert item["status"] == "succeeded" and item["credits"] == 100 and item["amount_cents"] == 900
    assert item["card"] == {"brand": "visa", "last4": "4242"}
    assert dev_server_process.database["outbox"].count_documents({"to": me["user"]["email"], "template": "payment_confirmation"}) == 1

    # Paying again (a second click, the back button) changes nothing.
    status, headers, _ = buyer.request("POST", url + "/pay", form=b"")
    assert status == 303
    assert buyer.json("GET", "/api/auth/me")[1]["user"]["credits"] == 150
    status, _, page = buyer.request("GET", url)
    assert status == 200 and "succeeded" in page.decode()


def test_cancel_goes_back_and_leaves_the_payment_pending(buyer, dev_server):
    url = _checkout(buyer, "pro")
    status, headers, _ = buyer.request("POST", url + "/cancel", form=b"")
    assert status == 303 and headers["Location"] == dev_server + "/dashboard/billing?checkout=cancel"
    assert buyer.json("GET", "/api/auth/me")[1]["user"]["credits"] == 50
    [item] = buyer.json("GET", "/api/billing/transactions")[1]["items"]
    assert item["status"] == "pending" and item["pack"] == "Pro"


def test_an_invoice_asks_for_the_company_and_tax_id_and_prints_them(buyer, dev_server):
    status, body = buyer.json("POST", "/api/billing/checkout", {"pack_id": "starter", "invoice": True})
    assert status == 200, body
    status, _, page = buyer.request("GET", body["url"])
    html = page.decode()
    assert "name=company required" in html and "name=tax_id" in html and "name=address" in html

    status, _, page = buyer.request("POST", body["url"] + "/pay", form=b"company=+++&tax_id=DE1")  # no company: asked again
    assert status == 400 and "Enter the company name" in page.decode()
    assert buyer.json("GET", "/api/billing/transactions")[1]["items"][0]["status"] == "pending"

    form = urllib.parse.urlencode({"company": "Acme <GmbH>", "address": "Unter den Linden 1, Berlin", "tax_id": "DE123456789"})
    status, headers, _ = buyer.request("POST", body["url"] + "/pay", form=form.encode())
    assert status == 303 and headers["Location"].endswith("/dashboard/billing?checkout=success")
    [item] = buyer.json("GET", "/api/billing/transactions")[1]["items"]
    assert item["status"] == "succeeded" and item["invoice_pdf"].endswith("?invoice=1") and item["receipt_url"]
    status, _, page = buyer.request("GET", item["invoice_pdf"])
    invoice = page.decode()
    assert status == 200 and "Invoice for your payment" in invoice
    assert "Acme &lt;GmbH&gt;" in invoice and "DE123456789" in invoice and "Unter den Linden 1, Berlin" in invoice
    receipt = buyer.request("GET", item["receipt_url"])[2].decode()
    assert "Receipt for your payment" in receipt and "DE123456789" not in receipt  # the receipt is not the invoice


def test_an_unknown_checkout_is_404(buyer):
    status, _, page = buyer.request("GET", "/_local/checkout/cs_local_doesnotexist")
    assert status == 404 and "No such checkout" in page.decode()
    status, _, _ = buyer.request("POST", "/_local/checkout/cs_local_doesnotexist/pay", form=b"")
    assert status == 404


def run_cron(dev_server: str) -> dict:
    """GET /api/cron/auto-topup as Vercel Cron does, with the Bearer secret; the job's summary."""
    from lib import config  # the dev server shares this run's DATA_DIR, so its generated cron secret too

    req = urllib.request.Request(dev_server + "/api/cron/auto-topup", headers={"Authorization": "Bearer " + config.settings().cron_secret})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def test_auto_top_up_with_the_stand_in_card(buyer, dev_server, dev_server_process):
    status, body = buyer.json("PUT", "/api/billing/auto-topup", {"pack_id": "starter", "threshold": 200, "ceiling_cents": 5000})
    assert status == 200 and body["url"].startswith(dev_server + "/_local/checkout/cs_local_"), body
    status, _, _ = buyer.request("POST", body["url"] + "/pay", form=b"")
    assert status == 303
    assert buyer.json("GET", "/api/billing/auto-topup")[1]["auto_topup"]["active"]
    assert buyer.json("GET", "/api/auth/me")[1]["user"]["credits"] == 150  # below the threshold of 200: a crossing

    summary = run_cron(dev_server)
    assert summary["job"] == "auto_topup" and summary["charged"] == 1, summary
    assert buyer.json("GET", "/api/auth/me")[1]["user"]["credits"] == 250
    assert run_cron(dev_server)["due"] == 0
    items = buyer.json("GET", "/api/billing/transactions")[1]["items"]
    assert [i["kind"] for i in items] == ["auto_topup", "checkout"] and all(i["status"] == "succeeded" for i in items)
    status, _, page = buyer.request("GET", items[0]["receipt_url"])
    assert status == 200 and "Receipt for your payment" in page.decode() and "$9.00" in page.decode()

    # The next off-session charge is declined: no credits, a mail with a link to pay on-session.
    buyer.request("POST", "/_local/checkout/card", form=b"outcome=decline")
    buyer.json("PUT", "/api/billing/auto-topup", {"pack_id": "starter", "threshold": 1000, "ceiling_cents": 5000})
    assert run_cron(dev_server)["declined"] == 1
    assert buyer.json("GET", "/api/auth/me")[1]["user"]["credits"] == 250
    email = buyer.json("GET", "/api/auth/me")[1]["user"]["email"]
    [mail] = dev_server_process.database["outbox"].find({"to": email, "template": "auto_topup_failed"})
    assert dev_server + "/dashboard/billing?topup=retry" in mail["text"]
