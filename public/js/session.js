// Where to go after signing in, and signing out.

import { api } from "./api.js";

// Only same-site paths: "/dashboard/usage", never "//evil.example" or "https://...".
function nextPath() {
  const next = new URLSearchParams(location.search).get("next") || "";
  return /^\/(?![/\\])/.test(next) ? next : "/dashboard";
}

export function enterApp() {
  location.assign(nextPath());
}

export async function signOut(destination = "/") {
  try {
    await api("/api/auth/logout", { method: "POST", redirectOn401: false });
  } finally {
    location.assign(destination);
  }
}
