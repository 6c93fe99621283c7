// Modal questions in a <dialog>: confirm an action, ask for one value, or show details.

import { h } from "./dom.js";
import { field } from "./forms.js";

// fields: extra form content; resolves with the form's values on confirm, null on cancel.
// cancelLabel: null leaves the one button (a dialog that only shows something).
function ask({ title, message, fields = [], confirmLabel, danger = false, cancelLabel = "Cancel" }) {
  return new Promise((resolve) => {
    const form = h("form", { method: "dialog" },
      h("h2", {}, title),
      message ? h("p", { class: "muted" }, message) : null,
      fields,
      h("div", { class: "form-actions" },
        cancelLabel ? h("button", { type: "submit", value: "cancel", formnovalidate: true }, cancelLabel) : null,
        h("button", { type: "submit", value: "confirm", class: danger ? "danger" : "primary" }, confirmLabel)));
    const dialog = h("dialog", { "aria-label": title }, form);
    dialog.addEventListener("close", () => {
      const confirmed = dialog.returnValue === "confirm";
      resolve(confirmed ? Object.fromEntries(new FormData(form)) : null);
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

export async function confirmAction({ title, message, confirmLabel = "Confirm", danger = false }) {
  return (await ask({ title, message, confirmLabel, danger })) !== null;
}

export async function askText({ title, label, value = "", maxLength = 100, confirmLabel = "Save" }) {
  const fields = field({ id: "dialog-value", label, name: "value", type: "text", value, maxlength: maxLength, required: true });
  const answer = await ask({ title, confirmLabel, fields });
  return answer ? answer.value.trim() : null;
}

// content: nodes to show (a list of details, say); resolves when closed.
export async function showDetails({ title, content }) {
  await ask({ title, fields: content, confirmLabel: "Close", cancelLabel: null });
}
