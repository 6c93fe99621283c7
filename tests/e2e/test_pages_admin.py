"""The admin pages in headless Chromium: usable by an administrator, refused to everyone else."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.test_pages import PASSWORD, balance, sign_up
from tests.fixtures.browser import ADMIN_EMAIL, screenshot


def test_an_administrator_finds_a_customer_and_adjusts_their_credits(open_page):
    customer = open_page("/")
    customer_email = sign_up(customer)
    customer.goto("/contact")
    customer.fill("#name", "Ada Lovelace")
    customer.fill("#email", customer_email)
    customer.fill("#message", "Could I have a few more credits to test?")
    customer.click("#contact-form button[type=submit]")
    customer.wait_for_selector("#contact-sent:visible")

    admin = open_page("/")
    sign_up(admin, ADMIN_EMAIL)
    admin.goto("/admin")
    admin.wait_for_selector("#users-table tbody tr")
    admin.fill("#user-q", customer_email)
    admin.click("#user-search button[type=submit]")
    # The unfiltered list already shows the customer: wait for the search's answer, one row.
    expect(admin.locator("#users-table tbody tr")).to_have_count(1)
    expect(admin.locator("#users-table tbody tr")).to_contain_text(customer_email)
    screenshot(admin, "admin-users")

    admin.click("#users-table tbody tr button.link")
    admin.wait_for_selector("#user-detail:visible")
    assert admin.text_content("#detail-balance") == "50"
    admin.fill("#adjust-amount", "25")
    admin.fill("#adjust-reason", "Goodwill for a support request")
    admin.click("#adjust-form button[type=submit]")
    admin.wait_for_selector("#detail-balance:has-text('75')")
    screenshot(admin, "admin-user-detail")

    customer.goto("/dashboard")
    customer.wait_for_selector(".model-option")
    assert balance(customer) == 75

    admin.click(".app-nav >> text=Audit log")
    admin.wait_for_selector("#audit-table tbody tr:has-text('Adjusted credits')")
    admin.click(".app-nav >> text=Messages")
    admin.wait_for_selector("#messages-table tbody tr:has-text('a few more credits')")
    screenshot(admin, "admin-messages")
    admin.click(".app-nav >> text=Payments")
    admin.wait_for_selector("#payments-table .empty")
    admin.click(".app-nav >> text=Statistics")
    admin.wait_for_selector("section[data-section=stats][data-ready]")
    assert int(admin.text_content("#stat-users")) >= 2
    admin.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('#chart-new-users'))")
    assert admin.evaluate("Chart.getChart(document.querySelector('#chart-new-users')).data.datasets[0].data.reduce((a, b) => a + b, 0)") >= 2
    screenshot(admin, "admin-stats")

    # Disabling ends the customer's session at once.
    admin.click(".app-nav >> text=Users")
    admin.fill("#user-q", customer_email)
    admin.click("#user-search button[type=submit]")
    admin.wait_for_selector(f"#users-table tbody tr:has-text('{customer_email}')")
    admin.click("#users-table tbody tr button.link")
    admin.click("#user-detail button:has-text('Disable account')")
    admin.click("dialog button[value=confirm]")
    admin.wait_for_selector("#user-detail .badge.disabled")
    customer.reload()
    customer.wait_for_url("**/login?next=%2Fdashboard")

    # Erasing needs no password, only a reason, which the audit log keeps.
    admin.fill("#erase-reason", "Under 16, reported by a parent")
    admin.click("#erase-form button[type=submit]")
    admin.click("dialog button[value=confirm]")
    admin.wait_for_selector(f"#users-status:has-text('{customer_email} was erased')")
    admin.click(".app-nav >> text=Audit log")
    admin.wait_for_selector("#audit-table tbody tr:has-text('Under 16, reported by a parent')")


def test_a_policy_update_is_published_and_shown_to_customers_until_dismissed(open_page):
    customer = open_page("/")
    sign_up(customer)
    admin = open_page("/")
    signed_in = admin.evaluate("""([email, password]) => fetch("/api/auth/login", {method: "POST",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify({email, password})}).then((r) => r.ok)""", [ADMIN_EMAIL, PASSWORD])
    if not signed_in:  # this test alone: the module's first test has not made the administrator yet
        sign_up(admin, ADMIN_EMAIL)
    admin.goto("/admin/policy")
    admin.fill("#policy-date", "2027-01-31")
    admin.fill("#policy-summary", "Server logs are now kept 60 days instead of 90.")
    admin.click("#policy-form button[type=submit]")
    admin.wait_for_selector("#policy-table tbody tr:has-text('60 days instead of 90')")
    screenshot(admin, "admin-policy")

    customer.reload()
    notice = customer.locator("#banners [data-notice]")
    expect(notice).to_contain_text("60 days instead of 90")
    notice.locator("button:has-text('Dismiss')").click()
    expect(notice).to_have_count(0)
    customer.reload()
    customer.wait_for_selector(".model-option")
    expect(customer.locator("#banners [data-notice]")).to_have_count(0)


def test_the_admin_pages_refuse_a_customer(open_page):
    page = open_page("/")
    sign_up(page)
    page.goto("/admin/users")
    page.wait_for_selector("#not-allowed:visible")
    assert "Not allowed" in page.text_content("#not-allowed")
    assert page.locator(".app-nav").is_hidden()
    assert page.locator("section[data-section=users]").is_hidden()
    status = page.evaluate("fetch('/api/admin/users').then((r) => r.status)")
    assert status == 403
    screenshot(page, "admin-refused")
