"""The web pages in headless Chromium, clicked through as a new customer would."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tests.fixtures.browser import mailed_link, screenshot

PASSWORD = "correct horse battery"
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    """A 640x480 PNG with a shape on it."""
    path = tmp_path_factory.mktemp("images") / "photo.png"
    image = Image.new("RGB", (640, 480), "#8aa9bb")
    ImageDraw.Draw(image).rectangle([200, 120, 440, 400], fill="#c5543e")
    image.save(path)
    return path


def sign_up(page, email: str | None = None) -> str:
    """Create an account through the sign-up page and open the mailed verification link; ends on the dashboard."""
    email = email or f"customer{next(_numbers)}@example.com"
    page.goto("/signup")
    page.fill("#first_name", "Ada")
    page.fill("#last_name", "Lovelace")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.check("#age_confirmed")
    page.click("#signup-form button[type=submit]")
    page.wait_for_url("**/dashboard")
    page.wait_for_selector("#verify-banner")
    page.goto(mailed_link(page, email))
    page.wait_for_selector("#verify-done:visible")
    page.click("#verify-done a")
    page.wait_for_url("**/dashboard")
    page.wait_for_selector(".model-option")
    assert page.locator("#verify-banner").count() == 0
    return email


def run_model(page, slug: str, image) -> None:
    page.check(f"input[name=model][value={slug}]")
    page.set_input_files("#image-file", str(image))
    page.click("#run-button")
    page.wait_for_selector(f"#result[data-model={slug}]")


def balance(page) -> int:
    return int(page.text_content("#balance-value").replace(",", ""))


def test_a_customer_from_sign_up_to_account_deletion(open_page, photo):
    page = open_page("/")
    screenshot(page, "landing")
    page.click("text=Get 50 free credits")
    page.wait_for_url("**/signup")
    screenshot(page, "signup")
    email = sign_up(page)
    assert balance(page) == 50

    # Object detection: the cost is shown first, then boxes are drawn on the image.
    page.check("input[name=model][value=object-detection]")
    assert "costs 2 credits" in page.text_content("#cost-line")
    run_model(page, "object-detection", photo)
    boxes = page.locator("#result svg.overlay rect.box")
    assert boxes.count() >= 1
    assert page.locator("#result .stage img").get_attribute("src").startswith("blob:")
    assert balance(page) == 48
    screenshot(page, "dashboard-run-object-detection")

    # Background removal: the cut-out over a checkerboard, with a download.
    run_model(page, "background-removal", photo)
    cutout = page.locator("#cutout-image")
    assert cutout.get_attribute("src").startswith("data:image/png;base64,")
    assert page.locator("#result .checkerboard").count() == 1
    with page.expect_download() as download:
        page.click("text=Download PNG")
    assert download.value.suggested_filename.endswith(".png")
    assert balance(page) == 43

    # A token is shown once, then never again.
    page.click(".app-nav >> text=API tokens")
    page.fill("#token-name", "Build server")
    page.click("#token-form button[type=submit]")
    page.wait_for_selector("#new-token", state="visible")
    secret = page.input_value("#new-token-value")
    assert secret.startswith("np_live_")
    assert "won't see it again" in page.text_content("#new-token")
    screenshot(page, "dashboard-tokens-new")
    page.reload()
    page.wait_for_selector("#token-list table")
    assert "Build server" in page.text_content("#token-list")
    assert secret not in page.content()
    assert page.locator("#new-token").is_hidden()

    # Buy a pack through the local Checkout stand-in.
    page.click(".app-nav >> text=Billing")
    page.click("button:has-text('Buy Starter')")
    page.wait_for_url("**/_local/checkout/**")
    page.click("button.pay")
    page.wait_for_url("**/dashboard/billing**")
    page.wait_for_selector("#checkout-notice .notice.success")
    assert balance(page) == 143
    row = page.locator("#transactions tbody tr").first
    assert "Starter" in row.text_content() and "$9.00" in row.text_content()
    assert row.locator(".badge.succeeded").count() == 1
    screenshot(page, "dashboard-billing")

    # Usage: the two runs are in the chart and in the call log.
    page.click(".app-nav >> text=Usage")
    page.wait_for_selector("#calls-table tbody tr")
    assert page.text_content("#total-calls") == "2"
    # Chart.js loads on first use: wait until the daily chart exists before reading it.
    page.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('#chart-daily'))")
    charted = page.evaluate("""() => {
        const chart = Chart.getChart(document.querySelector('#chart-daily'));
        const calls = chart.data.datasets.find((d) => d.label === 'Calls');
        return calls.data.reduce((a, b) => a + b, 0);
    }""")
    assert charted == 2
    assert page.locator("#calls-table tbody tr").count() == 2
    screenshot(page, "dashboard-usage")

    # Settings: a notification preference is saved and still set after a reload.
    page.click(".app-nav >> text=Settings")
    marketing = page.locator("#notifications input[name=marketing]")
    assert not marketing.is_checked()
    marketing.check()
    page.wait_for_selector("#notifications-status:has-text('Saved')")
    page.reload()
    page.wait_for_selector("section[data-section=settings][data-ready]")
    assert page.locator("#notifications input[name=marketing]").is_checked()
    screenshot(page, "dashboard-settings")

    # Export: a JSON download of the account.
    with page.expect_download() as download:
        page.click("#export-button")
    exported = json.loads(Path(download.value.path()).read_text())
    assert exported["profile"]["email"] == email
    assert exported["profile"]["notifications"]["marketing"] is True
    assert len([row for row in exported["ledger"] if row["kind"] == "use"]) == 2

    # The phone layout of the dashboard.
    phone = open_page("/dashboard/run", phone=True, cookies_from=page)
    phone.wait_for_selector(".model-option")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "dashboard-phone")

    # Delete the account: confirmed in a dialog, then signed out for good.
    page.fill("#delete-password", PASSWORD)
    page.click("#delete-form button[type=submit]")
    page.click("dialog button[value=confirm]")
    page.wait_for_url(re.compile(r"/\?account=deleted$"))
    assert page.locator("#deleted-notice").is_visible()
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-form .form-error:has-text('Wrong email or password')")
    page.goto("/dashboard")
    page.wait_for_url("**/login?next=%2Fdashboard")


def test_forms_validate_inline_and_show_server_errors_by_their_field(open_page):
    page = open_page("/signup")
    page.click("#signup-form button[type=submit]")
    assert page.text_content("#first_name-error") == "Enter your first name."
    page.fill("#password", "short")
    page.locator("#password").blur()
    assert page.text_content("#password-error") == "Use at least 8 characters."
    email = sign_up(page)

    other = open_page("/signup")
    other.fill("#first_name", "Grace")
    other.fill("#last_name", "Hopper")
    other.fill("#email", email)
    other.fill("#password", PASSWORD)
    other.check("#age_confirmed")
    other.click("#signup-form button[type=submit]")
    other.wait_for_selector("#email-error:has-text('already exists')")
    assert other.get_attribute("#email", "aria-invalid") == "true"

    # Settings: a wrong current password is reported under that field.
    page.goto("/dashboard/settings")
    page.fill("#current_password", "not my password")
    page.fill("#new_password", "another good password")
    page.fill("#confirm_password", "another good passwort")
    page.click("#password-form button[type=submit]")
    assert page.text_content("#confirm_password-error") == "The passwords don't match."
    page.fill("#confirm_password", "another good password")
    page.click("#password-form button[type=submit]")
    page.wait_for_selector("#current_password-error:has-text('not right')")


def test_a_forgotten_password_is_reset_through_the_mailed_link(open_page, site_server):
    page = open_page("/")
    email = sign_up(page)
    page.click("#sign-out")
    page.wait_for_url(re.compile(r"/$"))
    page.goto("/login")
    page.click("text=Forgot your password?")
    page.wait_for_url("**/forgot")  # the login page has an #email field too
    page.fill("#email", email)
    page.click("#forgot-form button[type=submit]")
    page.wait_for_selector("#forgot-sent:visible")
    mail = site_server.database["outbox"].find_one({"to": email, "template": "password_reset"})
    link = re.search(r"/reset#token=\S+", mail["text"]).group(0)

    page.goto(link)
    page.wait_for_function("location.hash === ''")  # the page takes the token out of the address bar
    assert page.url.endswith("/reset") and "token" not in page.url
    page.fill("#new_password", "a brand new password")
    page.fill("#confirm_password", "a brand new password")
    page.click("#reset-form button[type=submit]")
    page.wait_for_selector("#reset-done:visible")
    page.click("#reset-done a")
    page.fill("#email", email)
    page.fill("#password", "a brand new password")
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/dashboard")

    page.goto(link)  # a link works once
    page.fill("#new_password", "yet another password")
    page.fill("#confirm_password", "yet another password")
    page.click("#reset-form button[type=submit]")
    page.wait_for_selector("#reset-form .form-error:has-text('invalid or has expired')")


def test_a_failed_run_is_explained_and_not_charged(open_page, photo, fake_sentisight):
    page = open_page("/")
    sign_up(page)
    open_page.expect_error("/api/vision/object-detection")
    fake_sentisight.fail("http_500")
    try:
        run = page.locator("#run-button")
        page.check("input[name=model][value=object-detection]")
        page.set_input_files("#image-file", str(photo))
        run.click()
        page.wait_for_selector("#run-error .notice.error")
    finally:
        fake_sentisight.fail(None)
    assert "You were not charged" in page.text_content("#run-error")
    assert balance(page) == 50


def test_public_pages(open_page):
    page = open_page("/")
    page.wait_for_selector("#model-list .model-card")
    assert page.locator("#model-list .model-card").count() == 8
    assert "2 credits per image" in page.text_content("[data-model=object-detection]")
    assert page.locator("#pack-list .pack-card").count() >= 1
    assert "$9.00" in page.text_content("[data-pack=starter]")

    page.goto("/docs")
    page.wait_for_selector("#reference-body details.operation")
    assert page.locator("#model-samples .operation").count() == 8
    curl = page.text_content("#sample-object-detection-curl")
    assert "np_live_YOUR_TOKEN" in curl and "/api/vision/object-detection" in curl
    page.click("#sample-object-detection-python-tab")
    assert "import requests" in page.text_content("#sample-object-detection-python")
    page.click("#sample-object-detection-client-tab")
    client_sample = page.text_content("#sample-object-detection-client")
    assert "from nexuspoint import Client" in client_sample and "client.object_detection(" in client_sample
    assert "nexuspoint predict object-detection" in client_sample
    assert "Idempotency-Key" in page.text_content("#python-client")
    assert page.locator("#reference-body details.operation").count() >= 30
    assert page.locator("#export-format").is_visible()
    screenshot(page, "docs")

    page.goto("/privacy")
    policy = page.text_content("main")
    for promise in ("12 rounds", "7 days", "HttpOnly", "SameSite=Lax", "up to 10 API tokens", "SHA-256", "90 days", "7 years"):
        assert promise in policy
    screenshot(page, "privacy")

    page.goto("/contact")
    page.click("#contact-form button[type=submit]")
    assert page.text_content("#message-error") == "Enter your message."
    page.fill("#name", "Ada Lovelace")
    page.fill("#email", "ada@example.com")
    page.fill("#message", "Do you offer volume discounts?")
    page.click("#contact-form button[type=submit]")
    page.wait_for_selector("#contact-sent:visible")
    assert "reference" in page.text_content("#contact-thanks")
    screenshot(page, "contact")

    for path, name in (("/login", "login"), ("/forgot", "forgot"), ("/reset#token=x", "reset")):
        page.goto(path)
        screenshot(page, name)
    open_page.expect_error("/no-such-page")
    response = page.goto("/no-such-page")
    assert response.status == 404
    assert "Page not found" in page.text_content("h1")
    screenshot(page, "not-found")


def test_the_dashboard_weighs_under_150_kb_without_the_chart_library(open_page):
    page = open_page("/")
    sign_up(page)
    loaded: dict[str, int] = {}

    def record(response):
        if response.ok and response.request.resource_type in ("document", "stylesheet", "script"):
            loaded[response.url] = len(response.body())

    page.on("response", record)
    page.reload()
    for section in ("usage", "tokens", "billing", "settings", "run"):
        page.click(f".app-nav a[data-section={section}]")
        page.wait_for_selector(f"section[data-section={section}][data-ready]")
    own = {url: size for url, size in loaded.items() if "/vendor/" not in url}
    assert any(url.endswith("/js/dashboard/settings.js") for url in own)
    assert sum(own.values()) < 150_000, own
