// API tokens: create (shown once) with mode, model scope, credit cap and expiry; edit them (PATCH), pause or resume, delete.

import { api } from "../api.js";
import { $, copyText, h, replace } from "../dom.js";
import { date, dateTime } from "../format.js";
import { bindForm } from "../forms.js";
import { confirmAction } from "../dialog.js";
import { dataTable } from "../tables.js";

export async function mount(section) {
  const form = $("#token-form", section);
  const list = $("#token-list", section);
  const reveal = $("#new-token", section);
  const secret = $("#new-token-value", section);
  let limit = 10;
  const models = $("#token-models", section);
  // The scope boxes fill in while the form is already bound: a quick submit never finds a dead form.
  const scopeBoxes = api("/api/vision/models").catch(() => ({ models: [] })).then((catalogue) => {
    for (const model of catalogue.models) {
      models.append(h("label", { class: "check" }, h("input", { type: "checkbox", value: model.slug, "data-model": "" }), h("span", {}, model.name)));
    }
  });

  const submitButton = form.querySelector("button[type=submit]");
  const cancel = $("#token-edit-cancel", section);
  let editing = null; // the token whose settings the form is changing, or null when it creates one

  // The settings the plain name field doesn't carry, read from their inputs (empty: no scope, no cap, no expiry).
  function settings() {
    const cap = $("#token-cap", section).value.trim();
    const day = $("#token-expires", section).value;
    return {
      models: [...models.querySelectorAll("input[data-model]:checked")].map((box) => box.value),
      credit_limit: cap ? { credits: Number(cap), period: $("#token-cap-period", section).value } : null,
      expires_at: day ? `${day}T00:00:00Z` : null,
    };
  }

  function setEditing(token) {
    editing = token;
    form.reset();
    $("#token-mode", section).disabled = Boolean(token); // fixed at creation
    submitButton.textContent = token ? "Save changes" : "Create token";
    cancel.hidden = !token;
    if (!token) return;
    $("#token-name", section).value = token.name;
    $("#token-mode", section).value = token.mode;
    for (const box of models.querySelectorAll("input[data-model]")) box.checked = token.models.includes(box.value);
    if (token.credit_limit) {
      $("#token-cap", section).value = token.credit_limit.credits;
      $("#token-cap-period", section).value = token.credit_limit.period;
    }
    if (token.expires_at) $("#token-expires", section).value = token.expires_at.slice(0, 10);
    $("#token-name", section).focus();
  }
  cancel.addEventListener("click", () => setEditing(null));

  async function change(token, body) {
    try {
      await api(`/api/tokens/${token.id}`, { method: body ? "PATCH" : "DELETE", body });
    } catch (error) {
      replace($(".form-error", form), error.message);
    }
    await refresh();
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
    { label: "Mode", cell: (t) => h("span", { class: `badge ${t.mode}` }, t.mode === "test" ? "Test" : "Live") },
    { label: "Models", cell: (t) => (t.models.length ? t.models.join(", ") : h("span", { class: "muted" }, "All")) },
    { label: "Cap", cell: (t) => (t.credit_limit
      ? h("span", { class: "nowrap" }, `${t.credit_limit.used} of ${t.credit_limit.credits} credits ${t.credit_limit.period === "total" ? "in total" : `this ${t.credit_limit.period}`}`)
      : h("span", { class: "muted" }, "None")) },
    { label: "Expires", cell: (t) => (t.expires_at
      ? h("span", { class: `nowrap${t.expired ? " error" : ""}` }, t.expired ? `Expired ${date(t.expires_at)}` : date(t.expires_at))
      : h("span", { class: "muted" }, "Never")) },
    { label: "Created", cell: (t) => h("span", { class: "nowrap" }, date(t.created_at)) },
    { label: "Last used", cell: (t) => (t.last_used_at ? h("span", { class: "nowrap" }, dateTime(t.last_used_at)) : h("span", { class: "muted" }, "Never")) },
    { label: "Status", cell: (t) => h("span", { class: `badge ${t.active ? "active" : "paused"}` }, t.active ? "Active" : "Paused") },
    { label: "Actions", cell: (t) => h("div", { class: "actions" },
      h("button", { type: "button", class: "small", onclick: () => setEditing(t) }, "Edit"),
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
    submitButton.disabled = full && !editing;
    if (!tokens.length) {
      replace(list, h("div", { class: "empty" }, h("p", {}, "You have no API tokens yet."), h("p", {}, "Create one above, then call the API from your code — the ", h("a", { href: "/docs" }, "API docs"), " show how.")));
      return;
    }
    replace(list, dataTable({ columns, rows: tokens, label: "Your API tokens" }));
  }

  bindForm(form, {
    submit: (body) => (editing
      ? api(`/api/tokens/${editing.id}`, { method: "PATCH", body: { ...body, ...settings() } })
      : api("/api/tokens", { method: "POST", body: { ...body, mode: $("#token-mode", section).value, ...settings() } })),
    success: async ({ token }) => {
      const edited = Boolean(editing);
      setEditing(null);
      if (edited) {
        await refresh();
        return;
      }
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

  await Promise.all([refresh(), scopeBoxes]);
  return { show: refresh };
}
