// Admin · erase an account without its password (policy §9: under-16s, erasure requests by mail).
// The same erasure as self-deletion; the reason goes to the audit log.

import { api } from "../api.js";
import { h } from "../dom.js";
import { bindForm, field } from "../forms.js";
import { confirmAction } from "../dialog.js";

export function eraseCard(user, onErased) {
  const form = h("form", { class: "form", id: "erase-form", novalidate: true },
    field({ id: "erase-reason", name: "reason", label: "Reason", type: "text", minlength: 3, maxlength: 500, required: true,
            hint: "Saved in the audit log, e.g. “Under 16, reported by a parent”." }),
    h("p", { class: "form-error", role: "alert" }),
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "danger" }, "Erase account")));
  bindForm(form, {
    submit: async ({ reason }) => {
      const sure = await confirmAction({
        title: `Erase ${user.email}?`,
        message: "Their profile and API tokens are deleted at once, usage is anonymised and payments are kept unlinked. It can't be undone.",
        confirmLabel: "Erase account",
        danger: true,
      });
      if (!sure) return false;
      await api(`/api/admin/users/${user.id}`, { method: "DELETE", body: { reason } });
      return true;
    },
    success: (erased) => {
      if (erased) onErased(`${user.email} was erased.`);
    },
  });
  return h("div", { class: "card danger-zone" }, h("h3", {}, "Erase account"),
    h("p", { class: "muted" }, "Without their password: for an account that must not exist, or an erasure request received by mail."), form);
}
