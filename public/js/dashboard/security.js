// Settings → two-factor sign-in and active sessions.

import { api } from "../api.js";
import { $, h, replace } from "../dom.js";
import { bindForm, setBusy, setStatus } from "../forms.js";
import { dateTime } from "../format.js";

function showTwoFactor(section, enabled) {
  $("#two-factor-state", section).textContent = enabled
    ? "On: signing in asks for a code from your authenticator app after your password."
    : "Off. Turn it on so that a stolen password alone can't open your account.";
  $("#two-factor-start", section).hidden = enabled;
  $("#two-factor-off", section).hidden = !enabled;
  if (enabled) $("#two-factor-enable-form", section).hidden = true;
}

export function twoFactor(section, app) {
  const enableForm = $("#two-factor-enable-form", section);
  const disableForm = $("#two-factor-disable-form", section);
  const setupButton = $("#two-factor-setup", section);
  showTwoFactor(section, app.user.two_factor_enabled);

  setupButton.addEventListener("click", async () => {
    setBusy(setupButton, true);
    try {
      const { secret, qr_svg: qr } = await api("/api/account/two-factor/setup", { method: "POST" });
      $("#two-factor-qr", section).src = qr;  // an SVG drawn by our server: the secret goes nowhere else
      $("#two-factor-secret", section).textContent = secret;
      enableForm.hidden = false;
      $("#two-factor-password", section).focus();
    } catch (error) {
      $("#two-factor-state", section).textContent = `Setup failed: ${error.message}`;
    } finally {
      setBusy(setupButton, false);
    }
  });

  bindForm(enableForm, {
    submit: (body) => api("/api/account/two-factor/enable", { method: "POST", body }),
    success: ({ recovery_codes: codes }) => {
      enableForm.reset();
      app.user.two_factor_enabled = true;
      showTwoFactor(section, true);
      replace($("#two-factor-recovery-codes", section), codes.map((code) => h("li", {}, h("code", {}, code))));
      $("#two-factor-recovery", section).hidden = false;
    },
  });

  bindForm(disableForm, {
    submit: (body) => api("/api/account/two-factor/disable", { method: "POST", body }),
    success: () => {
      disableForm.reset();
      app.user.two_factor_enabled = false;
      $("#two-factor-recovery", section).hidden = true;
      showTwoFactor(section, false);
    },
  });
}

function describe(session) {
  const browser = session.browser || "Unknown browser";
  return session.os ? `${browser} on ${session.os}` : browser;
}

export function activeSessions(section) {
  const list = $("#session-list", section);
  const status = $("#sessions-status", section);

  async function end(session, button) {
    setBusy(button, true);
    try {
      await api(`/api/account/sessions/${encodeURIComponent(session.id)}`, { method: "DELETE" });
      if (session.current) location.assign("/login");
      else await load();
      setStatus(status, `Signed out ${describe(session)}.`);
    } catch (error) {
      setStatus(status, `Not signed out: ${error.message}`, false);
      setBusy(button, false);
    }
  }

  function row(session) {
    const button = h("button", { type: "button", class: "small" }, session.current ? "Sign out here" : "Sign out");
    button.addEventListener("click", () => end(session, button));
    return h("li", { dataset: { sessionId: session.id } },
      h("span", {},
        h("strong", {}, describe(session)), session.current ? h("span", { class: "badge" }, " This browser") : null,
        h("span", { class: "muted small session-meta" },
          `${session.ip || "IP unknown"} · signed in ${dateTime(session.started_at)} · last seen ${dateTime(session.last_seen_at)}`)),
      button);
  }

  async function load() {
    const { sessions } = await api("/api/account/sessions");
    replace(list, sessions.map(row));
  }

  const others = $("#end-other-sessions", section);
  others.addEventListener("click", async () => {
    setBusy(others, true);
    try {
      const { ended } = await api("/api/account/sessions", { method: "DELETE" });
      setStatus(status, ended ? `Signed out ${ended} other ${ended === 1 ? "session" : "sessions"}.` : "No other sessions were signed in.");
      await load();
    } catch (error) {
      setStatus(status, `Not signed out: ${error.message}`, false);
    } finally {
      setBusy(others, false);
    }
  });
  load().catch((error) => setStatus(status, `The sessions could not be loaded: ${error.message}`, false));
  return { show: () => load().catch(() => {}) };
}
