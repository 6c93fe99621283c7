"""The dashboard's API tokens page: a scoped, capped, expiring test token is created and listed with its settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.e2e.test_pages import sign_up
from tests.fixtures.browser import screenshot


def test_a_scoped_capped_expiring_test_token(open_page):
    page = open_page()
    sign_up(page)
    page.click(".app-nav >> text=API tokens")
    page.wait_for_selector("#token-models input[value=object-detection]")
    page.fill("#token-name", "CI sandbox")
    page.select_option("#token-mode", "test")
    page.check("#token-models input[value=object-detection]")
    page.check("#token-models input[value=text-recognition]")
    page.fill("#token-cap", "25")
    page.select_option("#token-cap-period", "month")
    expires = (datetime.now(UTC) + timedelta(days=40)).strftime("%Y-%m-%d")
    page.fill("#token-expires", expires)
    page.click("#token-form button[type=submit]")
    page.wait_for_selector("#new-token", state="visible")
    assert page.input_value("#new-token-value").startswith("np_test_")
    page.click("#new-token-done")
    page.reload()
    page.wait_for_selector("#token-list table")
    row = page.text_content("#token-list tbody tr")
    assert "CI sandbox" in row and "Test" in row
    assert "object-detection, text-recognition" in row
    assert "0 of 25 credits this month" in row
    assert "Never" in row  # not used yet
    assert page.locator("#token-list tbody tr td").filter(has_text=str(int(expires[8:]))).count() >= 1  # the expiry date is shown
    screenshot(page, "dashboard-tokens-settings")


    # Editing: the cap changes, the mode stays.
    page.click("#token-list button:has-text('Edit')")
    page.wait_for_selector("#token-mode:disabled")
    page.fill("#token-cap", "40")
    page.click("#token-form button[type=submit]")
    page.wait_for_selector("#token-list tbody tr:has-text('0 of 40 credits this month')")
    assert "Test" in page.text_content("#token-list tbody tr")
