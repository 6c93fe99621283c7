import { api } from "./api.js";
import { $ } from "./dom.js";
import { bindForm, passwordToggles } from "./forms.js";

const token = new URLSearchParams(location.search).get("token");
const form = $("#reset-form");
if (!token) {
  form.hidden = true;
  $("#reset-missing").hidden = false;
}
passwordToggles();
bindForm(form, {
  submit: ({ new_password }) => api("/api/auth/reset", { method: "POST", body: { token, new_password } }),
  success: () => {
    form.hidden = true;
    $("#reset-done").hidden = false;
  },
});
