import { api } from "./api.js";
import { $ } from "./dom.js";
import { bindForm, passwordToggles } from "./forms.js";
import { enterApp } from "./session.js";

passwordToggles();
bindForm($("#signup-form"), {
  submit: ({ company, ...fields }) => api("/api/auth/register", { method: "POST", body: company ? { ...fields, company } : fields }),
  success: enterApp,
});
