import { api } from "./api.js";
import { $ } from "./dom.js";
import { bindForm, passwordToggles } from "./forms.js";

// The link is /reset#token=...: a fragment never reaches a server, so the token stays out of
// access logs and proxies. Read it, then take it out of the address bar and the history entry.
const token = new URLSearchParams(location.hash.slice(1)).get("token");
if (location.hash) history.replaceState(null, "", location.pathname + location.search);
const form = $("#reset-form");
if (!token) {
  form.hidden = true;
  $("#reset-missing").hidden = false;
}
passwordToggles();
bindForm(form, {
  submit: ({ new_password, revoke_tokens }) => api("/api/auth/reset", { method: "POST", body: { token, new_password, revoke_tokens } }),
  success: () => {
    form.hidden = true;
    $("#reset-done").hidden = false;
  },
});
