"""In the browser: turn on two-factor with a code computed here, sign out and back in with a code, end another session."""

from __future__ import annotations

import re
import time

import pyotp
from playwright.sync_api import expect

from tests.e2e.test_pages import PASSWORD, sign_up
from tests.fixtures.browser import screenshot


def sign_in(page, email: str) -> None:
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")


def test_two_factor_sign_in_and_ending_a_session(open_page):
    page = open_page()
    email = sign_up(page)
    laptop = open_page()  # another browser, signed in before two-factor is on
    sign_in(laptop, email)
    laptop.wait_for_url("**/dashboard")

    # Turn it on: the QR code is an SVG from our own server; the code comes from the key it shows.
    page.goto("/dashboard/settings")
    page.click("#two-factor-setup")
    page.wait_for_selector("#two-factor-enable-form", state="visible")
    assert page.get_attribute("#two-factor-qr", "src").startswith("data:image/svg+xml")
    totp = pyotp.TOTP(page.text_content("#two-factor-secret"))
    page.fill("#two-factor-password", PASSWORD)
    page.fill("#two-factor-code", totp.now())
    page.click("#two-factor-enable-form button[type=submit]")
    page.wait_for_selector("#two-factor-recovery", state="visible")
    codes = page.locator("#two-factor-recovery-codes li").all_text_contents()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z0-9]{5}-[a-z0-9]{5}", c) for c in codes)
    assert page.text_content("#two-factor-state").startswith("On")
    screenshot(page, "settings-two-factor-on")

    # Sign out, and back in: the password alone is not enough.
    page.click("#sign-out")
    page.wait_for_url(re.compile(r"/$"))
    sign_in(page, email)
    page.wait_for_selector("#code-form", state="visible")
    assert "/login" in page.url
    page.fill("#code", totp.at(time.time() + 30))  # each code works once: the next one, as the app would show it
    page.click("#code-form button[type=submit]")
    page.wait_for_url("**/dashboard")

    # The sessions: this browser and the laptop (the one signed out is gone). End the laptop's.
    page.goto("/dashboard/settings")
    rows = page.locator("#session-list li")
    expect(rows).to_have_count(2)
    assert rows.filter(has_text="This browser").count() == 1
    assert "Chrome on Linux" in rows.first.text_content()
    screenshot(page, "settings-sessions")
    page.click("#session-list li:not(:has-text('This browser')) button")
    expect(rows).to_have_count(1)
    assert "Signed out" in page.text_content("#sessions-status")
    laptop.reload()
    laptop.wait_for_url("**/login?next=*")  # its cookie no longer signs anyone in
