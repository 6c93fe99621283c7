import { api } from "./api.js";
import { $ } from "./dom.js";
import { bindForm } from "./forms.js";

const form = $("#forgot-form");
bindForm(form, {
  submit: (body) => api("/api/auth/forgot", { method: "POST", body }),
  success: () => {
    form.hidden = true;
    $("#forgot-sent").hidden = false;
  },
});
