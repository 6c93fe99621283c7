// Admin · payments of the whole platform, filtered by status.

import { api } from "../api.js";
import { $, h } from "../dom.js";
import { capitalize, dateTime, money, number } from "../format.js";
import { pagedTable } from "../tables.js";

export async function mount(section) {
  const status = $("#payment-status", section);
  const table = pagedTable({
    label: "Payments",
    empty: "No payments with this status.",
    columns: [
      { label: "Date", cell: (p) => h("span", { class: "nowrap" }, dateTime(p.created_at)) },
      { label: "Customer", cell: (p) => p.user_email || h("span", { class: "muted" }, "Deleted account") },
      { label: "Pack", cell: (p) => p.pack_name },
      { label: "Credits", num: true, cell: (p) => number(p.credits) },
      { label: "Amount", num: true, cell: (p) => money(p.amount_cents, p.currency) },
      { label: "Refunded", num: true, cell: (p) => (p.refunded_cents ? money(p.refunded_cents, p.currency) : "—") },
      { label: "Card", cell: (p) => (p.card ? `${capitalize(p.card.brand)} ·· ${p.card.last4}` : "—") },
      { label: "Status", cell: (p) => h("span", { class: `badge ${p.status}` }, capitalize(p.status)) },
    ],
    load: async (page) => {
      const query = new URLSearchParams({ page });
      if (status.value) query.set("status", status.value);
      const result = await api(`/api/admin/payments?${query}`);
      return { ...result, rows: result.payments };
    },
  });
  $("#payments-table", section).append(table.element);
  status.addEventListener("change", () => table.reload(true));
  await table.reload();
  return { show: () => table.reload() };
}
