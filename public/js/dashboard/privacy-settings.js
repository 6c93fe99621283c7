// Settings, the privacy rights part: change the email address (a link to the new one confirms it)
// and object to platform-wide analytics.

import { api } from "../api.js";
import { $ } from "../dom.js";
import { bindForm, setStatus } from "../forms.js";

export function mountPrivacySettings(section, app) {
  const form = $("#email-form", section);
  bindForm(form, {
    submit: (body) => api("/api/account/email", { method: "POST", body }),
    success: ({ message }) => {
      form.reset();
      setStatus($("#email-status", section), message);
    },
  });

  const box = $("#object-to-analytics", section);
  const status = $("#analytics-status", section);
  box.checked = Boolean(app.user.object_to_analytics);
  box.addEventListener("change", async () => {
    box.disabled = true;
    try {
      const { user } = await api("/api/account/profile", { method: "PATCH", body: { object_to_analytics: box.checked } });
      app.user.object_to_analytics = user.object_to_analytics;
      setStatus(status, "Saved.");
    } catch (error) {
      box.checked = !box.checked;
      setStatus(status, `Not saved: ${error.message}`, false);
    } finally {
      box.disabled = false;
    }
  });
}
