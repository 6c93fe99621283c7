import { api } from "./api.js";
import { $ } from "./dom.js";
import { bindForm, passwordToggles } from "./forms.js";
import { enterApp } from "./session.js";

passwordToggles();
bindForm($("#login-form"), {
  submit: (body) => api("/api/auth/login", { method: "POST", body, redirectOn401: false }),
  success: enterApp,
});
