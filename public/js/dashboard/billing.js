// Billing: buy a credit pack through Checkout, the return from it, and the transaction history.

import { api } from "../api.js";
import { $, h, replace } from "../dom.js";
import { capitalize, credits, dateTime, money } from "../format.js";
import { loadPacks } from "../catalog.js";
import { packCard } from "../cards.js";
import { setBusy } from "../forms.js";
import { pagedTable } from "../tables.js";

const CONFIRM_POLLS = 10;

function card(c) {
  return c ? `${capitalize(c.brand)} ·· ${c.last4}` : h("span", { class: "muted" }, "—");
}

function transactionsTable() {
  return pagedTable({
    label: "Transactions",
    empty: h("p", {}, "No purchases yet. Your transactions appear here once you buy a pack."),
    columns: [
      { label: "Date", cell: (t) => h("span", { class: "nowrap" }, dateTime(t.created_at)) },
      { label: "Pack", cell: (t) => t.pack },
      { label: "Credits", num: true, cell: (t) => credits(t.credits) },
      { label: "Amount", num: true, cell: (t) => money(t.amount_cents, t.currency) },
      { label: "Card", cell: (t) => card(t.card) },
      { label: "Status", cell: (t) => h("span", { class: `badge ${t.status}` }, capitalize(t.status)) },
    ],
    load: async (page) => {
      const result = await api(`/api/billing/transactions?page=${page}`);
      return { ...result, rows: result.items };
    },
  });
}

export async function mount(section, app) {
  const packList = $("#billing-packs", section);
  const notice = $("#checkout-notice", section);
  const table = transactionsTable();
  $("#transactions", section).append(table.element);

  async function buy(pack, button) {
    setBusy(button, true);
    try {
      const { url } = await api("/api/billing/checkout", { method: "POST", body: { pack_id: pack.id } });
      location.assign(url);
    } catch (error) {
      replace(notice, h("p", { class: "notice error" }, `Checkout couldn't start: ${error.message}`));
      setBusy(button, false);
    }
  }

  // Stripe confirms the payment to our server on its own schedule: wait for it to settle.
  async function settledPayment() {
    for (let i = 0; i < CONFIRM_POLLS; i++) {
      const [latest] = (await api("/api/billing/transactions?page=1")).items;
      if (latest && latest.status !== "pending") return latest;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    return null;
  }

  async function showCheckoutReturn() {
    const outcome = new URLSearchParams(location.search).get("checkout");
    if (!outcome) return;
    history.replaceState(null, "", location.pathname);
    if (outcome === "cancel") {
      replace(notice, h("div", { class: "notice info" }, h("p", {}, "Checkout was cancelled. You were not charged.")));
      return;
    }
    replace(notice, h("div", { class: "notice info" }, h("p", {}, "Payment received. Adding your credits…")));
    const payment = await settledPayment();
    await app.refreshUser();
    table.reload(true);
    if (payment && payment.status === "succeeded") {
      replace(notice, h("div", { class: "notice success" }, h("p", {},
        `Thank you! ${credits(payment.credits)} from the ${payment.pack} pack are yours: your balance is now ${credits(app.user.credits)}.`)));
    } else if (payment && payment.status === "failed") {
      replace(notice, h("div", { class: "notice error" }, h("p", {}, "The payment failed and no credits were added. Try again with another card.")));
    } else {
      replace(notice, h("div", { class: "notice warn" }, h("p", {}, "Your payment is still being confirmed. The credits will appear within a few minutes; refresh this page to check.")));
    }
  }

  try {
    const packs = await loadPacks();
    replace(packList, packs.map((pack) => packCard(pack, h("button", { type: "button", class: "primary", onclick: (e) => buy(pack, e.currentTarget) }, `Buy ${pack.name}`))));
  } catch (error) {
    replace(packList, h("p", { class: "notice error" }, `The packs couldn't be loaded: ${error.message}`));
  } finally {
    packList.removeAttribute("aria-busy");
  }
  table.reload();
  showCheckoutReturn();
  return {
    show() {
      table.reload();
    },
  };
}
