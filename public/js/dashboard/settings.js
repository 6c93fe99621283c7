// Settings: profile, email notifications, credit alerts, email address and analytics, password, two-factor, sessions, data export,
// account deletion.

import { api, download } from "../api.js";
import { $, saveAs } from "../dom.js";
import { bindForm, setBusy, setStatus } from "../forms.js";
import { confirmAction } from "../dialog.js";
import { activeSessions, twoFactor } from "./security.js";
import { mountPrivacySettings } from "./privacy-settings.js";

function fillProfile(form, user) {
  form.elements.first_name.value = user.first_name;
  form.elements.last_name.value = user.last_name;
  form.elements.company.value = user.company;
  $("#profile-email", form).value = user.email;
}

function notifications(section, app) {
  const group = $("#notifications", section);
  const status = $("#notifications-status", section);
  for (const box of group.querySelectorAll("input")) box.checked = Boolean(app.user.notifications[box.name]);
  group.addEventListener("change", async (event) => {
    const box = event.target;
    box.disabled = true;
    try {
      const { user } = await api("/api/account/profile", { method: "PATCH", body: { notifications: { [box.name]: box.checked } } });
      app.user.notifications = user.notifications;
      setStatus(status, "Saved.");
    } catch (error) {
      box.checked = !box.checked;
      setStatus(status, `Not saved: ${error.message}`, false);
    } finally {
      box.disabled = false;
    }
  });
}

async function creditAlerts(section) {
  const form = $("#alerts-form", section);
  const input = form.elements.low_credit_threshold;
  const status = $("#alerts-status", section);
  bindForm(form, {
    submit: (body) => api("/api/account/alerts", { method: "PATCH", body }),
    success: ({ low_credit_threshold }) => {
      input.value = low_credit_threshold;
      setStatus(status, `Saved: we mail you below ${low_credit_threshold} credits, and at 0.`);
    },
  });
  try {
    input.value = (await api("/api/account/alerts")).low_credit_threshold;
  } catch (error) {
    setStatus(status, `Your alert couldn't be loaded: ${error.message}`, false);
  }
}

function exportButton(section) {
  const button = $("#export-button", section);
  const status = $("#export-status", section);
  button.addEventListener("click", async () => {
    setBusy(button, true);
    try {
      const blob = await download("/api/account/export");
      saveAs(blob, `nexuspoint-export-${new Date().toISOString().slice(0, 10)}.json`);
      setStatus(status, "Your download has started.");
    } catch (error) {
      setStatus(status, `The export failed: ${error.message}`, false);
    } finally {
      setBusy(button, false);
    }
  });
}

export async function mount(section, app) {
  const profile = $("#profile-form", section);
  fillProfile(profile, app.user);
  bindForm(profile, {
    submit: (body) => api("/api/account/profile", { method: "PATCH", body }),
    success: ({ user }) => {
      Object.assign(app.user, user);
      fillProfile(profile, user);
      $("#user-name").textContent = `${user.first_name} ${user.last_name}`;
      setStatus($("#profile-status", section), "Saved.");
    },
  });

  notifications(section, app);
  creditAlerts(section);  // its value arrives later; every form is bound before anything is awaited
  twoFactor(section, app);
  const sessions = activeSessions(section);
  mountPrivacySettings(section, app);

  const password = $("#password-form", section);
  $("input[name=username]", password).value = app.user.email;
  bindForm(password, {
    submit: async ({ current_password, new_password, revoke_tokens }) => {
      await api("/api/auth/password", { method: "POST", body: { current_password, new_password, revoke_tokens } });
      return revoke_tokens;
    },
    success: (revoked) => {
      password.reset();
      $("input[name=username]", password).value = app.user.email;
      const tokens = revoked ? "Your API tokens were revoked." : "Your API tokens still work.";
      setStatus($("#password-status", section), `Password changed. Other devices have been signed out. ${tokens}`);
      sessions.show();
    },
  });

  exportButton(section);

  bindForm($("#delete-form", section), {
    submit: async (body) => {
      const sure = await confirmAction({
        title: "Delete your account?",
        message: `This deletes ${app.user.email} with its API tokens and ${app.user.credits} unused credits, and signs you out. It can't be undone.`,
        confirmLabel: "Delete my account",
        danger: true,
      });
      if (!sure) return false;
      await api("/api/account", { method: "DELETE", body });
      return true;
    },
    success: (deleted) => {
      if (deleted) location.assign("/?account=deleted");
    },
  });
  return sessions;  // refreshes the session list each time Settings is shown again
}
