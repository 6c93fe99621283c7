"""Privacy policy §1.5: "a single essential cookie for authentication".

One whole journey through the real app (pages, sign-up with its verification link,
sign-in, the dashboard's calls, a vision call, tokens, a checkout paid on the local
stand-in, sign-out), every response recorded: no response sets any cookie but `np_session`, and the
journey does set (and clear) that one, so the check is not vacuous.
"""

from __future__ import annotations

import io
import urllib.request
from http.cookies import SimpleCookie

import pytest

from local import checkout_standin
from local.router import Router
from local.routes import local_apps
from tests.client import Client
from tests.fixtures.accounts import PASSWORD, sign_up
from tests.fixtures.stripe import SESSION_ID
from tests.fixtures.vision_calls import IMAGE_URL, noisy_image

ESSENTIAL = "np_session"
PAGES = ("/", "/signup", "/login", "/dashboard", "/dashboard/billing", "/dashboard/tokens", "/docs", "/privacy",
         "/css/app.css", "/js/dashboard.js", "/favicon.svg", "/no-such-page")
DASHBOARD_CALLS = ("/api/auth/me", "/api/account/balance", "/api/account/profile", "/api/account/alerts",
                   "/api/account/usage", "/api/account/usage/calls", "/api/account/usage/export?from=2026-01-01&to=2026-01-31", "/api/account/export",
                   "/api/billing/packs", "/api/billing/transactions", "/api/billing/auto-topup", "/api/tokens",
                   "/api/account/sessions", "/api/account/two-factor", "/api/account/notices", "/api/vision/models",
                   "/api/health")


class Recorder(Client):
    """A client whose every response goes into one shared journal: (method, path, status, cookie names set)."""

    def __init__(self, app, journal: list, **kw):
        super().__init__(app, **kw)
        self.journal = journal

    def request(self, method, path, **kw):
        result = super().request(method, path, **kw)
        names = []
        for raw in result.cookies:
            jar = SimpleCookie()
            jar.load(raw)
            names += list(jar) or [raw]  # an unparsable Set-Cookie still counts
        self.journal.append((method.upper(), path, result.status_code, names))
        return result


@pytest.fixture
def journey(database, sentisight, monkeypatch):
    """(browser, script, journal): the dev server's app in-process; the stand-in's webhooks go through it too."""
    journal: list = []
    app = Router(extra_apps=local_apps())
    browser, script, stripe = (Recorder(app, journal, origin=o) for o in ("http://testserver", None, None))

    def urlopen(request: urllib.request.Request, timeout=None):
        # The stand-in posts its signed events over HTTP; with no server in an API test, deliver them in-process.
        assert request.full_url == "http://testserver/api/billing/webhook"
        r = stripe.post("/api/billing/webhook", data=request.data, headers=dict(request.header_items()))
        assert r.status_code == 200, r.text
        return io.BytesIO(r.body)

    monkeypatch.setattr(checkout_standin.urllib.request, "urlopen", urlopen)
    return browser, script, journal


def test_a_whole_journey_sets_no_cookie_but_the_session(journey):
    browser, script, journal = journey
    for page in PAGES:
        browser.get(page)
    email = "journey@example.com"
    sign_up(browser, email)  # registers, then follows the mailed verification link
    assert browser.post("/api/auth/logout").status_code == 204
    assert browser.post("/api/auth/login", json={"email": email, "password": PASSWORD}).status_code == 200
    for path in (*PAGES[:6], *DASHBOARD_CALLS):
        assert browser.get(path).status_code < 400, path
    assert browser.patch("/api/account/profile", json={"company": "Analytical Engines"}).status_code == 200

    r = browser.post("/api/vision/object-detection", files={"image": ("photo.png", noisy_image(), "image/png")})
    assert r.status_code == 200, r.text
    r = browser.post("/api/tokens", json={"name": "journey"})
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    bearer = {"authorization": f"Bearer {token['secret']}"}
    assert script.post("/api/vision/object-detection", json={"url": IMAGE_URL}, headers=bearer).status_code == 200
    assert script.get("/api/account/balance", headers=bearer).status_code == 200
    assert browser.patch(f"/api/tokens/{token['id']}", json={"name": "renamed"}).status_code == 200
    assert browser.delete(f"/api/tokens/{token['id']}").status_code in (200, 204)

    r = browser.post("/api/billing/checkout", json={"pack_id": "starter"})
    assert r.status_code == 200, r.text
    checkout = f"{checkout_standin.PREFIX}/{SESSION_ID.search(r.json()['url']).group(0)}"
    assert browser.get(checkout).status_code == 200
    assert browser.post(f"{checkout}/pay").status_code == 303
    assert browser.get("/dashboard/billing?checkout=success").status_code == 200
    assert browser.get("/api/billing/transactions").status_code == 200

    assert browser.post("/api/auth/logout").status_code == 204
    assert browser.get("/api/auth/me").status_code == 401

    others = [(method, path, status, names) for method, path, status, names in journal if set(names) - {ESSENTIAL}]
    assert others == [], "responses that set a cookie other than np_session"
    setting = {path for method, path, status, names in journal if ESSENTIAL in names}
    assert setting == {"/api/auth/register", "/api/auth/login", "/api/auth/logout"}
    assert any(path == "/api/billing/webhook" for _, path, _, _ in journal)  # the stand-in's events were in the journey
