// Admin · the audit log: who changed what, before and after.

import { api } from "../api.js";
import { $, h } from "../dom.js";
import { dateTime } from "../format.js";
import { pagedTable } from "../tables.js";

const ACTIONS = { "credits.adjust": "Adjusted credits", "user.update": "Changed access", "user.erase": "Erased account", "policy.publish": "Published a policy update" };

function change(entry) {
  const before = entry.before || {};
  const after = entry.after || {};
  const keys = Object.keys(after).filter((k) => k !== "ledger_id");
  return h("span", { class: "small" }, keys.map((k) =>
    h("span", { class: "nowrap" }, `${k}: `, k in before ? `${before[k]} → ` : "", h("strong", {}, String(after[k])), "  ")));
}

export async function mount(section) {
  const table = pagedTable({
    label: "Audit log",
    empty: "Nothing yet. Credit adjustments and account changes made by administrators appear here.",
    columns: [
      { label: "Time", cell: (e) => h("span", { class: "nowrap" }, dateTime(e.created_at)) },
      { label: "Administrator", cell: (e) => e.admin_email || h("span", { class: "muted" }, "Deleted account") },
      { label: "Action", cell: (e) => ACTIONS[e.action] || e.action },
      { label: "Account", cell: (e) => h("code", {}, e.target_user_id) },
      { label: "Change", cell: change },
    ],
    load: async (page) => {
      const result = await api(`/api/admin/audit?page=${page}`);
      return { ...result, rows: result.entries };
    },
  });
  $("#audit-table", section).append(table.element);
  await table.reload();
  return { show: () => table.reload() };
}
