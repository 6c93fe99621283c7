import { api } from "./api.js";
import { $ } from "./dom.js";
import { number } from "./format.js";

// The link is /verify#token=...: a fragment never reaches a server, so the token stays out of
// access logs and proxies. Read it, then take it out of the address bar and the history entry.
const token = new URLSearchParams(location.hash.slice(1)).get("token");
if (location.hash) history.replaceState(null, "", location.pathname + location.search);
// Another link pasted into this tab changes only the fragment: load the page again to follow it.
window.addEventListener("hashchange", () => location.reload());

function failed(message) {
  $("#verify-working").hidden = true;
  $("#verify-failed-text").textContent = message;
  $("#verify-failed").hidden = false;
}

if (!token) {
  failed("This page needs the link from the verification email.");
} else {
  api("/api/auth/verify", { method: "POST", body: { token }, redirectOn401: false }).then(
    ({ user, email_changed }) => {
      $("#verify-working").hidden = true;
      $("#verify-done-text").textContent = email_changed
        ? `Your account now uses ${user.email}.`
        : `Your email address is verified and your account holds ${number(user.credits)} credits.`;
      $("#verify-done").hidden = false;
    },
    (error) => failed(error.message),
  );
}
