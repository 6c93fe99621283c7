import { api } from "./api.js";
import { $ } from "./dom.js";
import { bindForm } from "./forms.js";

const form = $("#contact-form");
bindForm(form, {
  submit: ({ subject, ...fields }) => api("/api/contact", { method: "POST", body: subject ? { ...fields, subject } : fields }),
  success: ({ message, reference }) => {
    form.hidden = true;
    $("#contact-thanks").textContent = `${message} Your reference: ${reference}.`;
    $("#contact-sent").hidden = false;
  },
});
