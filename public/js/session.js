// Where to go after signing in, and signing out.

import { api, leavingPage } from "./api.js";

// Only same-origin destinations. The URL parser is the browser's own, so it sees what
// the browser will do: a pattern misses "/\t/evil.example" (tab, CR and LF are stripped
// from URLs, leaving "//evil.example"), and "/\evil.example" (read as "//").
export function nextPath(next = new URLSearchParams(location.search).get("next")) {
  if (!next) return "/dashboard";
  try {
    const u = new URL(next, location.origin);
    return u.origin === location.origin ? u.pathname + u.search + u.hash : "/dashboard";
  } catch {
    return "/dashboard";
  }
}

export function enterApp() {
  location.assign(nextPath());
}

export async function signOut(destination = "/") {
  leavingPage();
  try {
    await api("/api/auth/logout", { method: "POST", redirectOn401: false });
  } finally {
    location.assign(destination);
  }
}
