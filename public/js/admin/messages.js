// Admin · contact-form messages, newest first.

import { api } from "../api.js";
import { $, h } from "../dom.js";
import { dateTime } from "../format.js";
import { pagedTable } from "../tables.js";

export async function mount(section) {
  const table = pagedTable({
    label: "Messages",
    empty: "No messages yet. What people send through the contact form appears here.",
    columns: [
      { label: "Received", cell: (m) => h("span", { class: "nowrap" }, dateTime(m.created_at)) },
      { label: "From", cell: (m) => (m.email ? h("span", {}, m.name, h("br"), h("a", { href: `mailto:${m.email}` }, m.email)) : h("span", { class: "muted" }, "Deleted account")) },
      { label: "Subject", cell: (m) => m.subject || h("span", { class: "muted" }, "(none)") },
      { label: "Message", cell: (m) => h("span", { class: "message-text" }, m.message) },
    ],
    load: async (page) => {
      const result = await api(`/api/admin/messages?page=${page}`);
      return { ...result, rows: result.messages };
    },
  });
  $("#messages-table", section).append(table.element);
  await table.reload();
  return { show: () => table.reload() };
}
