import { startApp } from "./app-shell.js";

// The server refuses every admin route to anyone else; this only spares them an empty page.
startApp({
  base: "/admin",
  defaultSection: "users",
  allowed: (user) => user.role === "admin",
  // In production the admin routes refuse an administrator without two-factor (403 admin_2fa_required); locally this says so.
  signedIn: (user) => {
    document.getElementById("admin-2fa-banner").hidden = user.role !== "admin" || user.two_factor_enabled;
  },
  sections: {
    users: { title: "Users · Admin", load: () => import("./admin/users.js") },
    payments: { title: "Payments · Admin", load: () => import("./admin/payments.js") },
    messages: { title: "Messages · Admin", load: () => import("./admin/messages.js") },
    audit: { title: "Audit log · Admin", load: () => import("./admin/audit.js") },
    stats: { title: "Statistics · Admin", load: () => import("./admin/stats.js") },
    policy: { title: "Policy updates · Admin", load: () => import("./admin/policy.js") },
  },
});
