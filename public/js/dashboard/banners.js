// Banners above every dashboard section: an unverified email address (with a resend button),
// and privacy policy updates not yet dismissed.

import { api } from "../api.js";
import { $, h } from "../dom.js";
import { setBusy, setStatus } from "../forms.js";

function verifyBanner(app) {
  const status = h("span", { class: "form-status", "aria-live": "polite" });
  const button = h("button", { type: "button", class: "small", id: "resend-verification" }, "Send a new link");
  button.addEventListener("click", async () => {
    setBusy(button, true);
    try {
      setStatus(status, (await api("/api/auth/resend-verification", { method: "POST" })).message);
    } catch (error) {
      setStatus(status, error.message, false);
    } finally {
      setBusy(button, false);
    }
  });
  return h("div", { class: "notice warn", id: "verify-banner", role: "status" },
    h("p", {}, h("strong", {}, "Verify your email address. "),
      `We sent a link to ${app.user.email}. Following it completes your registration and adds the free credits; `,
      "until then you can look around, but not run models, create API tokens or buy credits."),
    h("p", {}, button, " ", status));
}

function policyBanner(notice) {
  const banner = h("div", { class: "notice info", role: "status", dataset: { notice: notice.id } });
  const dismiss = h("button", { type: "button", class: "small" }, "Dismiss");
  dismiss.addEventListener("click", async () => {
    setBusy(dismiss, true);
    try {
      await api("/api/account/notices", { method: "POST", body: { id: notice.id } });
      banner.remove();
    } catch {
      setBusy(dismiss, false);
    }
  });
  banner.append(
    h("p", {}, h("strong", {}, `Our privacy policy changes on ${notice.effective_date}. `), h("a", { href: "/privacy" }, "Read the policy")),
    h("p", { class: "pre-line" }, notice.summary),
    h("p", {}, dismiss),
  );
  return banner;
}

export async function showBanners(app) {
  const area = $("#banners");
  if (!app.user.email_verified) area.append(verifyBanner(app));
  const { notices } = await api("/api/account/notices");
  area.append(...notices.map(policyBanner));
}
