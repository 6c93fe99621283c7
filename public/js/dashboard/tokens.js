// API tokens: create (shown once), rename, pause or resume, delete.

import { api } from "../api.js";
import { $, copyText, h, replace } from "../dom.js";
import { date, dateTime } from "../format.js";
import { bindForm } from "../forms.js";
import { askText, confirmAction } from "../dialog.js";
import { dataTable } from "../tables.js";

export async function mount(section) {
  const form = $("#token-form", section);
  const list = $("#token-list", section);
  const reveal = $("#new-token", section);
  const secret = $("#new-token-value", section);
  let limit = 10;

  async function change(token, body) {
    try {
      await api(`/api/tokens/${token.id}`, { method: body ? "PATCH" : "DELETE", body });
    } catch (error) {
      replace($(".form-error", form), error.message);
    }
    await refresh();
  }

  async function rename(token) {
    const name = await askText({ title: "Rename token", label: "Token name", value: token.name, maxLength: 60 });
    if (name && name !== token.name) await change(token, { name });
  }

  async function remove(token) {
    const sure = await confirmAction({
      title: `Delete "${token.name}"?`,
      message: "Programs using this token will get 401 errors at once. This can't be undone; to stop it for a while, pause it instead.",
      confirmLabel: "Delete token",
      danger: true,
    });
    if (sure) await change(token);
  }

  const columns = [
    { label: "Name", cell: (t) => h("strong", {}, t.name) },
    { label: "Token", cell: (t) => h("code", {}, `${t.prefix}…`) },
    { label: "Created", cell: (t) => h("span", { class: "nowrap" }, date(t.created_at)) },
    { label: "Last used", cell: (t) => (t.last_used_at ? h("span", { class: "nowrap" }, dateTime(t.last_used_at)) : h("span", { class: "muted" }, "Never")) },
    { label: "Status", cell: (t) => h("span", { class: `badge ${t.active ? "active" : "paused"}` }, t.active ? "Active" : "Paused") },
    { label: "Actions", cell: (t) => h("div", { class: "actions" },
      h("button", { type: "button", class: "small", onclick: () => rename(t) }, "Rename"),
      h("button", { type: "button", class: "small", onclick: () => change(t, { active: !t.active }) }, t.active ? "Pause" : "Resume"),
      h("button", { type: "button", class: "small danger", onclick: () => remove(t) }, "Delete")) },
  ];

  async function refresh() {
    let result;
    try {
      result = await api("/api/tokens");
    } catch (error) {
      replace(list, h("p", { class: "notice error" }, `Your tokens couldn't be loaded: ${error.message}`));
      return;
    }
    const { tokens } = result;
    limit = result.limit;
    const full = tokens.length >= limit;
    replace($("#token-count", section), `${tokens.length} of ${limit} tokens`,
      full ? h("span", { class: "muted" }, ` — the most an account can have. Delete one you no longer use to create another.`) : "");
    form.querySelector("button[type=submit]").disabled = full;
    if (!tokens.length) {
      replace(list, h("div", { class: "empty" }, h("p", {}, "You have no API tokens yet."), h("p", {}, "Create one above, then call the API from your code — the ", h("a", { href: "/docs" }, "API docs"), " show how.")));
      return;
    }
    replace(list, dataTable({ columns, rows: tokens, label: "Your API tokens" }));
  }

  bindForm(form, {
    submit: (body) => api("/api/tokens", { method: "POST", body }),
    success: async ({ token }) => {
      form.reset();
      $("#new-token-name", section).textContent = `"${token.name}"`;
      secret.value = token.secret;
      reveal.hidden = false;
      secret.focus();
      secret.select();
      await refresh();
    },
  });
  $("#copy-token", section).addEventListener("click", (event) => copyText(secret.value, event.currentTarget));
  $("#new-token-done", section).addEventListener("click", () => {
    secret.value = "";
    reveal.hidden = true;
  });

  await refresh();
  return { show: refresh };
}
