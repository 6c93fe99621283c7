// Billing: buy a credit pack through Checkout (with an invoice if asked), auto top-up, the return
// from Checkout, and the transaction history with receipts and invoices.

import { api, ApiError } from "../api.js";
import { $, h, replace } from "../dom.js";
import { capitalize, credits, dateTime, money } from "../format.js";
import { loadPacks } from "../catalog.js";
import { packCard } from "../cards.js";
import { bindForm, setBusy, setStatus } from "../forms.js";
import { confirmAction } from "../dialog.js";
import { pagedTable } from "../tables.js";

const CONFIRM_POLLS = 10;

function card(c) {
  return c ? `${capitalize(c.brand)} ·· ${c.last4}` : h("span", { class: "muted" }, "—");
}

// Stripe's receipt (every succeeded payment) and the invoice PDF (when one was asked for), opened in a new tab.
function documents(t) {
  const links = [
    t.receipt_url ? h("a", { href: t.receipt_url, target: "_blank", rel: "noopener" }, "Receipt") : null,
    t.invoice_pdf ? h("a", { href: t.invoice_pdf, target: "_blank", rel: "noopener" }, "Invoice") : null,
  ].filter(Boolean);
  return links.length ? h("span", { class: "actions" }, links) : h("span", { class: "muted" }, "—");
}

function transactionsTable() {
  return pagedTable({
    label: "Transactions",
    empty: h("p", {}, "No purchases yet. Your transactions appear here once you buy a pack."),
    columns: [
      { label: "Date", cell: (t) => h("span", { class: "nowrap" }, dateTime(t.created_at)) },
      { label: "Pack", cell: (t) => h("span", {}, t.pack, t.kind === "auto_topup" ? h("span", { class: "muted" }, " · auto top-up") : null) },
      { label: "Credits", num: true, cell: (t) => credits(t.credits) },
      { label: "Amount", num: true, cell: (t) => money(t.amount_cents, t.currency) },
      { label: "Card", cell: (t) => card(t.card) },
      { label: "Status", cell: (t) => h("span", { class: `badge ${t.status}`, title: t.failure || null }, capitalize(t.status)) },
      { label: "Documents", cell: documents },
    ],
    load: async (page) => {
      const result = await api(`/api/billing/transactions?page=${page}`);
      return { ...result, rows: result.items };
    },
  });
}

// What auto top-up is doing, in words, and the badge beside its title.
function describe(state, packs) {
  const pack = packs.find((p) => p.id === state.pack_id);
  const what = pack ? `the ${pack.name} pack (${credits(pack.credits)}, ${money(pack.price_cents)})` : "your pack";
  const spent = `${money(state.month_spent_cents)} of ${money(state.ceiling_cents)} spent this month.`;
  if (state.paused) return ["paused", "Paused", `Paused after ${state.failures} failed charges of your saved card. Save the settings again to resume, or buy a pack above to pay now.`];
  if (state.active) return ["active", "On", `On: below ${credits(state.threshold)} we buy ${what} with your saved card. ${spent}`];
  if (state.awaiting_checkout) return ["pending", "Waiting for checkout", "Waiting for your first purchase: pay for the pack on the checkout page to save your card. If you closed it, save again to start a new checkout."];
  return ["", "Off", "Off. Turning it on takes you to checkout to buy the pack once and save your card for later top-ups."];
}

function autoTopup(section, packs, notice) {
  const form = $("#topup-form", section);
  const off = $("#topup-off", section);
  const save = $("#topup-save", section);
  const status = $("#topup-status", section);
  replace($("#topup-pack", section), packs.map((p) => h("option", { value: p.id }, `${p.name}: ${credits(p.credits)} for ${money(p.price_cents)}`)));

  function render(state) {
    const [kind, badge, words] = describe(state, packs);
    const badgeEl = $("#topup-badge", section);
    badgeEl.className = `badge ${kind}`;
    badgeEl.textContent = badge;
    $("#topup-state", section).textContent = words;
    section.dataset.topup = state.active ? "active" : state.paused ? "paused" : state.awaiting_checkout ? "awaiting" : "off";
    if (state.pack_id) form.elements.pack_id.value = state.pack_id;
    if (state.threshold !== null) form.elements.threshold.value = state.threshold;
    if (state.ceiling_cents !== null) form.elements.ceiling_usd.value = Math.ceil(state.ceiling_cents / 100);
    save.textContent = state.card_saved ? "Save changes" : "Turn on auto top-up";
    off.hidden = !state.enabled && !state.card_saved;
  }

  async function refresh() {
    try {
      render((await api("/api/billing/auto-topup")).auto_topup);
    } catch (error) {
      replace($("#topup-state", section), h("span", { class: "notice error" }, `Auto top-up couldn't be loaded: ${error.message}`));
    }
  }

  bindForm(form, {
    submit: async ({ pack_id, threshold, ceiling_usd }) => {
      try {
        return await api("/api/billing/auto-topup", { method: "PUT", body: { pack_id, threshold, ceiling_cents: Math.round(ceiling_usd * 100) } });
      } catch (error) {
        if (error instanceof ApiError && error.field === "ceiling_cents") error.field = "ceiling_usd";
        throw error;
      }
    },
    success: ({ auto_topup, url }) => {
      if (url) {
        location.assign(url); // the checkout that saves the card; the webhook turns it on
        return;
      }
      render(auto_topup);
      setStatus(status, "Saved.");
    },
  });

  off.addEventListener("click", async () => {
    const sure = await confirmAction({
      title: "Turn off auto top-up?",
      message: "Your balance will no longer be topped up, and the saved card is removed. You can still buy packs by hand.",
      confirmLabel: "Turn off",
      danger: true,
    });
    if (!sure) return;
    setBusy(off, true);
    try {
      await api("/api/billing/auto-topup", { method: "DELETE" });
      setStatus(status, "Auto top-up is off and the card was removed.");
    } catch (error) {
      setStatus(status, `Not turned off: ${error.message}`, false);
    } finally {
      setBusy(off, false);
    }
    await refresh();
  });

  // The failure mail links here: a top-up couldn't charge the card while the person was away.
  if (new URLSearchParams(location.search).get("topup") === "retry") {
    history.replaceState(null, "", location.pathname);
    replace(notice, h("div", { class: "notice warn" }, h("p", {},
      "Your saved card couldn't be charged for an auto top-up. Buy a pack below to pay now (your bank may ask you to confirm), then save auto top-up again if it was paused.")));
  }
  return { refresh };
}

export async function mount(section, app) {
  const packList = $("#billing-packs", section);
  const notice = $("#checkout-notice", section);
  const invoice = $("#want-invoice", section);
  const table = transactionsTable();
  $("#transactions", section).append(table.element);

  async function buy(pack, button) {
    setBusy(button, true);
    try {
      const { url } = await api("/api/billing/checkout", { method: "POST", body: { pack_id: pack.id, invoice: invoice.checked } });
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

  async function showCheckoutReturn(topup) {
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
    if (topup) await topup.refresh(); // the purchase that saves the card also switches auto top-up on
    if (payment && payment.status === "succeeded") {
      replace(notice, h("div", { class: "notice success" }, h("p", {},
        `Thank you! ${credits(payment.credits)} from the ${payment.pack} pack are yours: your balance is now ${credits(app.user.credits)}.`)));
    } else if (payment && payment.status === "failed") {
      replace(notice, h("div", { class: "notice error" }, h("p", {}, "The payment failed and no credits were added. Try again with another card.")));
    } else {
      replace(notice, h("div", { class: "notice warn" }, h("p", {}, "Your payment is still being confirmed. The credits will appear within a few minutes; refresh this page to check.")));
    }
  }

  let topup = null;
  try {
    const packs = await loadPacks();
    replace(packList, packs.map((pack) => packCard(pack, h("button", { type: "button", class: "primary", onclick: (e) => buy(pack, e.currentTarget) }, `Buy ${pack.name}`))));
    topup = autoTopup(section, packs, notice);
    await topup.refresh();
  } catch (error) {
    replace(packList, h("p", { class: "notice error" }, `The packs couldn't be loaded: ${error.message}`));
  } finally {
    packList.removeAttribute("aria-busy");
  }
  table.reload();
  showCheckoutReturn(topup);
  return {
    show() {
      table.reload();
      app.refreshUser();
      if (topup) topup.refresh();
    },
  };
}
