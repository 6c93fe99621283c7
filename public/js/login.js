import { api } from "./api.js";
import { $ } from "./dom.js";
import { bindForm, passwordToggles } from "./forms.js";
import { enterApp } from "./session.js";

// With two-factor on, the password answers a short-lived login token instead of a session:
// kept here in memory only, and sent back with the code.
let loginToken = null;
const passwordForm = $("#login-form");
const codeForm = $("#code-form");

passwordToggles();
bindForm(passwordForm, {
  submit: (body) => api("/api/auth/login", { method: "POST", body, redirectOn401: false }),
  success: (result) => {
    if (!result.two_factor_required) return enterApp();
    loginToken = result.login_token;
    passwordForm.hidden = true;
    codeForm.hidden = false;
    $("#code").focus();
  },
});
bindForm(codeForm, {
  submit: ({ code }) => api("/api/auth/two-factor", { method: "POST", body: { login_token: loginToken, code }, redirectOn401: false }),
  success: enterApp,
});
