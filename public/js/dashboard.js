import { startApp } from "./app-shell.js";
import { showBanners } from "./dashboard/banners.js";

startApp({
  base: "/dashboard",
  defaultSection: "run",
  sections: {
    run: { title: "Run a model", load: () => import("./dashboard/run.js") },
    usage: { title: "Usage", load: () => import("./dashboard/usage.js") },
    tokens: { title: "API tokens", load: () => import("./dashboard/tokens.js") },
    billing: { title: "Billing", load: () => import("./dashboard/billing.js") },
    settings: { title: "Settings", load: () => import("./dashboard/settings.js") },
  },
}).then(showBanners);
