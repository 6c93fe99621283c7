"""The dashboard's money pages in headless Chromium: auto top-up turned on through the Checkout stand-in
and fulfilled after the cron run, receipts linked; the call log's filters, details and CSV; the credit alert."""

from __future__ import annotations

import csv
import io

from playwright.sync_api import expect

from tests.e2e import test_pages
from tests.e2e.test_checkout_standin import run_cron
from tests.e2e.test_pages import balance, run_model, sign_up
from tests.fixtures.browser import SCREENSHOTS, screenshot

photo = test_pages.photo  # the fixture: a 640x480 PNG


def test_auto_top_up_from_the_billing_page_to_a_topped_up_balance(open_page, site, photo):
    page = open_page()
    sign_up(page)
    page.click(".app-nav >> text=Billing")
    page.wait_for_selector("section[data-section=billing][data-topup=off]")
    page.select_option("#topup-pack", "starter")
    page.fill("#topup-threshold", "149")
    page.fill("#topup-ceiling", "5")  # below the pack's $9.00: the server says so next to the field
    page.click("#topup-save")
    page.wait_for_selector("#topup-ceiling-error:has-text('at least the pack')")
    page.fill("#topup-ceiling", "50")
    page.click("#topup-save")

    # The stand-in's Checkout buys the pack once and saves its test card.
    page.wait_for_url("**/_local/checkout/cs_local_*")
    page.click("button.pay")
    page.wait_for_url("**/dashboard/billing")
    page.wait_for_selector("#checkout-notice .notice.success")
    page.wait_for_selector("section[data-section=billing][data-topup=active]")
    assert balance(page) == 150
    assert "below 149 credits we buy the Starter pack" in page.text_content("#topup-state")
    assert page.is_visible("#topup-off")
    screenshot(page, "dashboard-billing-auto-topup-on")

    # Spend below the threshold: 150 -> 148 < 149. No top-up inside the call.
    page.click(".app-nav >> text=Run a model")
    run_model(page, "object-detection", photo)
    assert balance(page) == 148

    summary = run_cron(site)
    assert summary["charged"] == 1, summary
    page.click(".app-nav >> text=Billing")
    page.wait_for_selector("#transactions tbody tr:has-text('auto top-up')")
    assert balance(page) == 248
    row = page.locator("#transactions tbody tr").first
    assert "Succeeded" in row.text_content() and "Visa ·· 4242" in row.text_content()
    receipt = row.locator("a:has-text('Receipt')").get_attribute("href")
    assert receipt.startswith(site + "/_local/checkout/receipt/")
    assert "$9.00 of $50.00 spent this month" in page.text_content("#topup-state")
    screenshot(page, "dashboard-billing-topped-up")

    # Turning it off asks first, then removes the card.
    page.click("#topup-off")
    page.click("dialog button[value=confirm]")
    page.wait_for_selector("section[data-section=billing][data-topup=off]")
    assert page.is_hidden("#topup-off")


def test_an_invoice_asked_for_on_the_billing_page_is_linked_with_the_company_on_it(open_page):
    page = open_page()
    sign_up(page)
    page.goto("/dashboard/billing?topup=retry")  # where the failure mail links
    page.wait_for_selector("#checkout-notice .notice.warn:has-text('couldn')")
    page.check("#want-invoice")
    page.click("[data-pack=pro] button")
    page.wait_for_url("**/_local/checkout/cs_local_*")
    page.fill("#company", "Acme GmbH")
    page.fill("#tax_id", "DE123456789")
    page.click("button.pay")
    page.wait_for_selector("#checkout-notice .notice.success")
    link = page.locator("#transactions tbody tr").first.locator("a:has-text('Invoice')")
    invoice = page.context.new_page()
    invoice.goto(link.get_attribute("href"))
    assert "Acme GmbH" in invoice.text_content("main") and "DE123456789" in invoice.text_content("main")


def test_the_call_log_filters_opens_a_call_and_downloads_csv_and_the_alert_is_saved(open_page, site, photo):
    page = open_page()
    sign_up(page)
    run_model(page, "object-detection", photo)
    run_model(page, "text-recognition", photo)
    # A test-token call from "their code": it carries the token's name and a request id.
    token = page.request.post(site + "/api/tokens", data={"name": "CI sandbox", "mode": "test"}, headers={"Origin": site}).json()["token"]
    answer = page.request.post(site + "/api/vision/object-detection", data=photo.read_bytes(),
                               headers={"Authorization": f"Bearer {token['secret']}", "Content-Type": "image/png"})
    assert answer.ok and answer.headers["x-sandbox"] == "true"

    page.click(".app-nav >> text=Usage")
    rows = page.locator("#calls-table tbody tr")
    expect(rows).to_have_count(3)
    page.select_option("#calls-model", "text-recognition")
    expect(rows).to_have_count(1)
    page.select_option("#calls-status", "failed")
    page.wait_for_selector("#calls-table .empty")
    page.select_option("#calls-status", "")
    page.select_option("#calls-model", "")
    page.select_option("#calls-token", token["id"])
    expect(rows.first).to_contain_text("CI sandbox")  # waits out the loads of the filters changed before
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Test")

    rows.first.locator("button:has-text('Details')").click()
    request_id = page.text_content("#call-request-id")
    assert request_id and request_id == rows.first.locator("button").get_attribute("data-request")
    assert "Yes: a test token" in page.text_content("dialog dl")
    page.click("dialog button[value=confirm]")
    page.select_option("#calls-token", "")
    expect(rows).to_have_count(3)
    rows.last.locator("button:has-text('Details')").click()  # a live dashboard call: its latency and request id too
    assert page.text_content("#call-request-id") and " ms" in page.text_content("dialog dl")
    page.click("dialog button[value=confirm]")

    with page.expect_download() as download:
        page.click("#calls-export")
    download.value.save_as(SCREENSHOTS.parent / "usage-export.csv")  # for a person to open in a spreadsheet
    exported = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    assert sorted(r["model"] for r in exported) == ["object-detection", "object-detection", "text-recognition"]
    assert request_id in {r["request_id"] for r in exported}
    screenshot(page, "dashboard-usage-call-log")

    page.click(".app-nav >> text=Settings")
    page.wait_for_selector("#alerts-threshold")
    expect(page.locator("#alerts-threshold")).to_have_value("10")
    page.fill("#alerts-threshold", "30")
    page.click("#alerts-form button[type=submit]")
    page.wait_for_selector("#alerts-status:has-text('below 30 credits')")
    page.reload()
    expect(page.locator("#alerts-threshold")).to_have_value("30")
