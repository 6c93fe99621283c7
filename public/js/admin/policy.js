// Admin · privacy policy updates: publish one (every user sees a notice and gets one mail), see those published.

import { api } from "../api.js";
import { $, h } from "../dom.js";
import { date, dateTime, number } from "../format.js";
import { bindForm, setStatus } from "../forms.js";
import { pagedTable } from "../tables.js";

export async function mount(section) {
  const table = pagedTable({
    label: "Policy updates",
    empty: "No policy update has been published.",
    columns: [
      { label: "Effective", cell: (p) => date(p.effective_date) },
      { label: "Summary", cell: (p) => h("span", { class: "pre-line" }, p.summary) },
      { label: "Published", cell: (p) => dateTime(p.published_at) },
      { label: "Mails sent", num: true, cell: (p) => `${number(p.mail_sent)}${p.mail_done ? "" : " (sending)"}` },
    ],
    load: async (page) => {
      const result = await api(`/api/admin/policy-updates?page=${page}`);
      return { ...result, rows: result.policy_updates };
    },
  });
  $("#policy-table", section).append(table.element);
  const form = $("#policy-form", section);
  bindForm(form, {
    submit: (body) => api("/api/admin/policy-updates", { method: "POST", body }),
    success: () => {
      form.reset();
      setStatus($("#policy-status", section), "Published. Everyone sees the notice now; the mails go out in batches over the next minutes.");
      table.reload(true);
    },
  });
  await table.reload();
}
