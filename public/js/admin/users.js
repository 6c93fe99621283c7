// Admin · users: search, one person's account, credit adjustments, disable and enable, erase.

import { api } from "../api.js";
import { $, h, replace } from "../dom.js";
import { capitalize, credits, date, dateTime, money, number } from "../format.js";
import { bindForm, field, setStatus } from "../forms.js";
import { confirmAction } from "../dialog.js";
import { dataTable, pagedTable } from "../tables.js";
import { modelNamer } from "../catalog.js";
import { eraseCard } from "./erase.js";

const fullName = (u) => `${u.first_name} ${u.last_name}`.trim() || u.email;
const badge = (kind, text) => h("span", { class: `badge ${kind}` }, text);
const accessBadges = (u) => [u.role === "admin" ? badge("admin", "Admin") : null, " ", u.disabled ? badge("disabled", "Disabled") : badge("active", "Active")];

function adjustForm(user, onDone) {
  const form = h("form", { class: "form", id: "adjust-form", novalidate: true },
    h("div", { class: "field-row" },
      field({ id: "adjust-amount", name: "amount", label: "Credits", hint: "Positive to add, negative to remove.", type: "number", step: 1, min: -1000000, max: 1000000, required: true }),
      field({ id: "adjust-reason", name: "reason", label: "Reason", type: "text", maxlength: 500, required: true, hint: "Saved in the ledger and the audit log." })),
    h("p", { class: "form-error", role: "alert" }),
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "primary" }, "Adjust credits"), h("p", { class: "form-status", "aria-live": "polite" })));
  bindForm(form, {
    submit: ({ amount, reason }) => api("/api/admin/credits", { method: "POST", body: { user_id: user.id, amount, reason } }),
    success: (result) => onDone(`Done: ${result.delta > 0 ? "+" : ""}${number(result.delta)}. The balance is now ${credits(result.balance)}.`),
  });
  return form;
}

function detailView(detail, { back, reload, modelName, erased }) {
  const { user } = detail;
  const status = h("p", { class: "form-status", "aria-live": "polite" });
  async function setDisabled(disabled) {
    const sure = await confirmAction({
      title: `${disabled ? "Disable" : "Enable"} ${user.email}?`,
      message: disabled ? "They are signed out at once and can't sign in or use their API tokens until enabled again." : "They can sign in and use their API tokens again.",
      confirmLabel: disabled ? "Disable account" : "Enable account",
      danger: disabled,
    });
    if (!sure) return;
    try {
      reload(await api(`/api/admin/users/${user.id}`, { method: "PATCH", body: { disabled } }), `Account ${disabled ? "disabled" : "enabled"}.`);
    } catch (error) {
      setStatus(status, error.message, false);
    }
  }
  return h("div", { class: "stack", dataset: { user: user.id } },
    h("button", { type: "button", class: "link", onclick: back }, "← All users"),
    h("div", { class: "card stack" },
      h("div", { class: "row-between" }, h("h2", {}, fullName(user)),
        h("span", {}, accessBadges(user), user.email_verified ? null : [" ", badge("paused", "Email not verified")])),
      h("div", { class: "grid grid-4" },
        h("div", { class: "stat" }, h("span", { class: "label" }, "Email"), h("span", {}, user.email)),
        h("div", { class: "stat" }, h("span", { class: "label" }, "Company"), h("span", {}, user.company || "—")),
        h("div", { class: "stat" }, h("span", { class: "label" }, "Joined"), h("span", {}, date(user.created_at))),
        h("div", { class: "stat" }, h("span", { class: "label" }, "Balance"), h("span", { class: "value", id: "detail-balance" }, number(detail.balance)))),
      h("div", { class: "form-actions" },
        user.disabled
          ? h("button", { type: "button", onclick: () => setDisabled(false) }, "Enable account")
          : h("button", { type: "button", class: "danger", onclick: () => setDisabled(true) }, "Disable account"),
        status)),
    h("div", { class: "card" }, h("h3", {}, "Adjust credits"), adjustForm(user, (message) => reloadAfter(message))),
    h("h3", {}, `API tokens (${detail.tokens.length})`),
    detail.tokens.length ? dataTable({ label: "API tokens", rows: detail.tokens, columns: [
      { label: "Name", cell: (t) => t.name },
      { label: "Prefix", cell: (t) => h("code", {}, `${t.prefix}…`) },
      { label: "Created", cell: (t) => date(t.created_at) },
      { label: "Last used", cell: (t) => (t.last_used_at ? dateTime(t.last_used_at) : "Never") },
      { label: "Status", cell: (t) => badge(t.active ? "active" : "paused", t.active ? "Active" : "Paused") },
    ] }) : h("p", { class: "muted" }, "No API tokens."),
    h("h3", {}, "Recent usage"),
    detail.recent_usage.length ? dataTable({ label: "Recent usage", rows: detail.recent_usage, columns: [
      { label: "Time", cell: (r) => dateTime(r.created_at) },
      { label: "Model", cell: (r) => modelName(r.model) },
      { label: "Source", cell: (r) => (r.source === "api" ? "API" : "Dashboard") },
      { label: "Image URL", cell: (r) => r.image_url || "—" },
      { label: "Status", cell: (r) => badge(r.status, capitalize(r.status)) },
      { label: "Credits", num: true, cell: (r) => number(r.credits) },
    ] }) : h("p", { class: "muted" }, "No model calls yet."),
    h("h3", {}, "Payments"),
    detail.payments.length ? dataTable({ label: "Payments", rows: detail.payments, columns: [
      { label: "Date", cell: (p) => dateTime(p.created_at) },
      { label: "Pack", cell: (p) => p.pack_name },
      { label: "Credits", num: true, cell: (p) => number(p.credits) },
      { label: "Amount", num: true, cell: (p) => money(p.amount_cents, p.currency) },
      { label: "Status", cell: (p) => badge(p.status, capitalize(p.status)) },
    ] }) : h("p", { class: "muted" }, "No payments."),
    eraseCard(user, erased));

  async function reloadAfter(message) {
    reload(await api(`/api/admin/users/${user.id}`), message);
  }
}

export async function mount(section) {
  const modelName = await modelNamer();
  const listView = $("#user-list-view", section);
  const detailBox = $("#user-detail", section);
  const search = $("#user-search", section);

  function showList(message) {
    detailBox.hidden = true;
    listView.hidden = false;
    table.reload();
    setStatus($("#users-status", section), typeof message === "string" ? message : "");
  }

  function showDetail(detail, message) {
    replace(detailBox, detailView(detail, { back: showList, reload: showDetail, modelName, erased: showList }));
    if (message) setStatus($(".form-status", detailBox), message);
    listView.hidden = true;
    detailBox.hidden = false;
  }

  async function open(id) {
    try {
      showDetail(await api(`/api/admin/users/${id}`));
    } catch (error) {
      replace(detailBox, h("p", { class: "notice error" }, error.message));
      detailBox.hidden = false;
    }
  }

  const table = pagedTable({
    label: "Users",
    empty: "No account matches this search. Try part of an email, a name or a company.",
    columns: [
      { label: "Name", cell: (u) => h("button", { type: "button", class: "link", onclick: () => open(u.id) }, fullName(u)) },
      { label: "Email", cell: (u) => u.email },
      { label: "Company", cell: (u) => u.company || "—" },
      { label: "Access", cell: accessBadges },
      { label: "Credits", num: true, cell: (u) => number(u.credits) },
      { label: "Joined", cell: (u) => h("span", { class: "nowrap" }, date(u.created_at)) },
    ],
    load: async (page) => {
      const query = new URLSearchParams({ page, q: search.elements.q.value.trim() });
      const result = await api(`/api/admin/users?${query}`);
      return { ...result, rows: result.users };
    },
  });
  $("#users-table", section).append(table.element);
  search.addEventListener("submit", (event) => {
    event.preventDefault();
    table.reload(true);
  });
  await table.reload();
  return { show: showList };
}
