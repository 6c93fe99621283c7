"""What a person does from `make dev`, over real HTTP: register, verify the address from the mailed
link and see the 50 credits, sign out, sign back in, change the password, and reset it from the
link the dev server prints."""

from __future__ import annotations

import http.client
import json
import re
import time
import uuid
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

from tests.fixtures.browser import mailed_link


class Browser:
    """Just enough of a browser: one cookie jar, and our own Origin on writes, as the pages send it."""

    def __init__(self, base: str):
        self.base = base
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None):
        parts = urlsplit(self.base)
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if method != "GET":
            headers["Origin"] = self.base
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    jar = SimpleCookie()
                    jar.load(value)
                    for key, morsel in jar.items():
                        if morsel.value and morsel["max-age"] != "0":
                            self.cookies[key] = morsel.value
                        else:
                            self.cookies.pop(key, None)
            content_type = response.getheader("Content-Type", "")
            payload = json.loads(raw) if raw and content_type.startswith("application/json") else raw
            return response.status, payload
        finally:
            conn.close()

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, body=None):
        return self.request("POST", path, body)


def reset_link_from_console(server, email: str, timeout: float = 10.0) -> str:
    """The reset link the outbox printed on the dev server's console for this email."""
    pattern = re.compile(rf"\[mail\] to {re.escape(email)}: Reset your NexusPoint password\s+(\S+)")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = pattern.findall(server.log())
        if found:
            return found[-1]
        time.sleep(0.1)
    raise AssertionError(f"no reset link for {email} on the console:\n{server.log()[-3000:]}")


def verify_link_from_outbox(server, email: str) -> str:
    """The verification link the local mail backend wrote to the outbox for this email."""
    mail = server.database["outbox"].find_one({"to": email, "template": "verify_email"}, sort=[("created_at", -1)])
    assert mail, f"no verification mail for {email}"
    return re.search(r"\S+/verify#token=\S+", mail["text"]).group(0)


def test_register_sign_out_sign_in_change_and_reset_the_password(dev_server, dev_server_process):
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    first, second, third = "first password 1", "second password 2", "third password 3"
    person = Browser(dev_server)

    # Register: signed in at once, but no credits and no model runs until the address is verified.
    status, body = person.post("/api/auth/register", {"first_name": "Grace", "last_name": "Hopper", "email": email, "password": first,
                                                      "age_confirmed": True})
    assert status == 201, body
    assert "np_session" in person.cookies
    status, body = person.get("/api/auth/me")
    assert status == 200 and body["user"]["email"] == email and body["user"]["credits"] == 0 and body["user"]["email_verified"] is False
    status, body = person.post("/api/tokens", {"name": "too early"})
    assert status == 403 and body["error"]["code"] == "email_unverified"

    # Verify from the mailed link (the token in the fragment, posted by the /verify page): 50 free credits.
    link = verify_link_from_outbox(dev_server_process, email)
    assert link.startswith(dev_server + "/verify#token=") and not urlsplit(link).query
    page_status, page = Browser(dev_server).get(urlsplit(link).path)
    assert page_status == 200 and b"/js/verify.js" in page
    token = parse_qs(urlsplit(link).fragment)["token"][0]
    status, body = Browser(dev_server).post("/api/auth/verify", {"token": token})  # the link works in any browser
    assert status == 200 and body["user"]["credits"] == 50 and body["user"]["email_verified"] is True
    assert Browser(dev_server).post("/api/auth/verify", {"token": token})[0] == 400  # once only
    status, body = person.get("/api/auth/me")
    assert status == 200 and body["user"]["credits"] == 50
    assert "[mail] to " + email + ": Welcome to NexusPoint, Grace" in dev_server_process.log()

    # Sign out, and the session is gone.
    assert person.post("/api/auth/logout")[0] == 204
    assert "np_session" not in person.cookies
    assert person.get("/api/auth/me")[0] == 401

    # Sign back in.
    status, body = person.post("/api/auth/login", {"email": email, "password": first})
    assert status == 200 and body["user"]["credits"] == 50
    assert person.get("/api/auth/me")[0] == 200

    # Change the password: this session continues, a second one (another device) ends.
    other_device = Browser(dev_server)
    assert other_device.post("/api/auth/login", {"email": email, "password": first})[0] == 200
    assert person.post("/api/auth/password", {"current_password": first, "new_password": second})[0] == 204
    assert person.get("/api/auth/me")[0] == 200
    assert other_device.get("/api/auth/me")[0] == 401
    assert Browser(dev_server).post("/api/auth/login", {"email": email, "password": first})[0] == 401

    # Forgot it: the link is printed on the dev server's console.
    stranger = Browser(dev_server)
    status, body = stranger.post("/api/auth/forgot", {"email": email})
    assert status == 202
    link = reset_link_from_console(dev_server_process, email)
    # The token is in the fragment, which a browser never sends: only /reset reaches the server and its logs.
    assert link.startswith(dev_server + "/reset#token=") and not urlsplit(link).query
    page_status, page = stranger.get(urlsplit(link).path)
    assert page_status == 200 and b"<html" in page.lower()  # the page the link opens
    token = parse_qs(urlsplit(link).fragment)["token"][0]

    # Reset from the link (as the reset page posts it): the new password works, every session ends.
    assert stranger.post("/api/auth/reset", {"token": token, "new_password": third})[0] == 204
    assert person.get("/api/auth/me")[0] == 401
    assert stranger.post("/api/auth/reset", {"token": token, "new_password": "fourth password 4"})[0] == 400  # once only
    assert Browser(dev_server).post("/api/auth/login", {"email": email, "password": second})[0] == 401
    again = Browser(dev_server)
    status, body = again.post("/api/auth/login", {"email": email, "password": third})
    assert status == 200 and body["user"]["email"] == email
    status, body = again.get("/api/auth/me")
    assert status == 200 and body["user"]["credits"] == 50

    # The mails a person would have received, in the server's outbox.
    templates = [m["template"] for m in dev_server_process.database["outbox"].find({"to": email}).sort("created_at", 1)]
    assert templates == ["verify_email", "welcome", "password_changed", "password_reset", "password_changed"]


# --- in the browser: where signing in leads ---------------------------------------------------------

def test_a_call_that_loses_its_session_while_signing_out_does_not_send_the_page_to_sign_in(open_page):
    """Sign-out ends the session while the dashboard may still have calls out: their 401s must not win the race."""
    page = open_page("/signup")
    page.fill("#first_name", "Ada")
    page.fill("#last_name", "Lovelace")
    page.fill("#email", f"leaving-{uuid.uuid4().hex[:8]}@example.com")
    page.fill("#password", "correct horse battery")
    page.check("#age_confirmed")
    page.click("#signup-form button[type=submit]")
    page.wait_for_url("**/dashboard")
    held = []
    page.route("**/api/auth/logout", lambda route: held.append(route))  # sign-out's request waits here
    page.route("**/api/auth/me", lambda route: route.fulfill(
        status=401, content_type="application/json", body='{"error": {"code": "unauthorized", "message": "Sign in."}}'))
    page.evaluate("""async () => {
        const [{ signOut }, { api }] = await Promise.all([import("/js/session.js"), import("/js/api.js")]);
        signOut("/");
        api("/api/auth/me");  // in flight when the session ended: answered 401
    }""")
    page.wait_for_timeout(300)
    assert urlsplit(page.url).path == "/dashboard"  # not sent to /login meanwhile
    held[0].continue_()
    page.wait_for_url(re.compile(r"/$"))


def test_sign_in_only_ever_leads_back_into_the_site(open_page):
    """`next` after sign-in must stay on our origin, however it is spelled (an open redirect otherwise)."""
    page = open_page("/signup")
    email = f"next-{uuid.uuid4().hex[:8]}@example.com"
    page.fill("#first_name", "Ada")
    page.fill("#last_name", "Lovelace")
    page.fill("#email", email)
    page.fill("#password", "correct horse battery")
    page.check("#age_confirmed")
    page.click("#signup-form button[type=submit]")
    page.wait_for_url("**/dashboard")
    page.click("#sign-out")
    page.wait_for_url(re.compile(r"/$"))

    # A tab (or CR/LF) is stripped from URLs by the browser: "/\t/evil.example" would become "//evil.example".
    page.goto("/login?next=/%09/evil.example")
    page.fill("#email", email)
    page.fill("#password", "correct horse battery")
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/dashboard")
    assert urlsplit(page.url).netloc == urlsplit(open_page.site).netloc and urlsplit(page.url).path == "/dashboard"

    # The same rule for every spelling, checked in the page's own URL parser.
    cases = {
        "/\t/evil.example": "/dashboard", "/\n/evil.example": "/dashboard", "/\r/evil.example": "/dashboard",
        "//evil.example": "/dashboard", "/\\evil.example": "/dashboard", "\\/evil.example": "/dashboard",
        "https://evil.example/dashboard": "/dashboard", "javascript:alert(1)": "/dashboard", " //evil.example": "/dashboard",
        "": "/dashboard", "/dashboard/usage?days=7#chart": "/dashboard/usage?days=7#chart", "/docs": "/docs",
    }
    got = page.evaluate("""async (cases) => {
        const { nextPath } = await import("/js/session.js");
        return Object.fromEntries(Object.keys(cases).map((next) => [next, nextPath(next)]));
    }""", cases)
    assert got == cases


# --- in the browser: verifying the address, and moving to another one ---------------------------------

def test_verify_from_a_resent_link_then_change_the_email_in_settings(open_page):
    email, new_email = f"verify-{uuid.uuid4().hex[:8]}@example.com", f"moved-{uuid.uuid4().hex[:8]}@example.com"
    page = open_page("/signup")
    page.fill("#first_name", "Ada")
    page.fill("#last_name", "Lovelace")
    page.fill("#email", email)
    page.fill("#password", "correct horse battery")
    page.click("#signup-form button[type=submit]")
    assert page.text_content("#age_confirmed-error") == "Tick this box to continue."
    page.check("#age_confirmed")
    page.click("#signup-form button[type=submit]")
    page.wait_for_url("**/dashboard")
    page.wait_for_selector("#verify-banner")
    assert page.text_content("#balance-value") == "0"
    first_link = mailed_link(page, email)
    page.click("#resend-verification")
    page.wait_for_selector(f"#verify-banner :text('A new link is on its way to {email}')")
    assert mailed_link(page, email) != first_link

    page.goto(first_link)  # replaced by the resent one
    page.wait_for_selector("#verify-failed:visible")
    page.goto("/")  # as from the mail: a fresh load (from /verify itself, only the fragment would change)
    page.goto(mailed_link(page, email))
    page.wait_for_selector("#verify-done:visible")
    assert page.url.endswith("/verify") and "token" not in page.url  # the page took the token out of the address bar
    assert "50 credits" in page.text_content("#verify-done")
    page.click("#verify-done a")
    page.wait_for_selector(".model-option")
    assert page.text_content("#balance-value") == "50" and page.locator("#verify-banner").count() == 0

    page.goto("/dashboard/settings")
    page.fill("#new_email", new_email)
    page.fill("#email-password", "correct horse battery")
    page.click("#email-form button[type=submit]")
    page.wait_for_selector(f"#email-status:has-text('{new_email}')")
    page.goto("/")
    page.goto(mailed_link(page, new_email, "email_change_confirm"))
    page.wait_for_selector(f"#verify-done:has-text('now uses {new_email}')")
    login = open_page("/login")
    login.fill("#email", new_email)
    login.fill("#password", "correct horse battery")
    login.click("#login-form button[type=submit]")
    login.wait_for_url("**/dashboard")
    login.goto("/dashboard/settings")
    login.wait_for_selector("section[data-section=settings][data-ready]")
    assert login.input_value("#profile-email") == new_email
