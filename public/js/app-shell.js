// The signed-in pages (dashboard, admin): who is signed in, the balance in the
// header, and sections switched with history.pushState and loaded on first visit.

import { api } from "./api.js";
import { $, $$ } from "./dom.js";
import { number } from "./format.js";
import { signOut } from "./session.js";

const LOW_BALANCE = 10;

// sections: {name: {title, load: () => import(...)}}; a module exports mount(element, app)
// and may return {show()} to refresh each time the section is shown again. signedIn(user) runs once who is known.
export async function startApp({ base, sections, defaultSection, allowed = () => true, signedIn = () => {} }) {
  const mounted = new Map();
  const balance = $("#balance-value");

  const app = {
    user: null,
    setBalance(value) {
      app.user.credits = value;
      balance.textContent = number(value);
      balance.parentElement.classList.toggle("low", value < LOW_BALANCE);
    },
    async refreshUser() {
      app.user = (await api("/api/auth/me")).user;
      app.setBalance(app.user.credits);
      return app.user;
    },
    navigate(name, search = "") {
      history.pushState(null, "", `${base}/${name}${search}`);
      show(name, true);
    },
  };

  function current() {
    const name = location.pathname.slice(base.length + 1).split("/")[0];
    return sections[name] ? name : defaultSection;
  }

  async function show(name, moveFocus) {
    for (const link of $$(".app-nav a")) {
      if (link.dataset.section === name) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    for (const section of $$("main section[data-section]")) section.hidden = section.dataset.section !== name;
    document.title = `${sections[name].title} — NexusPoint`;
    const element = $(`section[data-section="${name}"]`);
    if (moveFocus) $("h1", element).focus();
    if (!mounted.has(name)) {
      const module = await sections[name].load();
      mounted.set(name, (await module.mount(element, app)) || {});
      element.dataset.ready = "true";
    } else if (mounted.get(name).show) {
      mounted.get(name).show();
    }
  }

  await app.refreshUser();
  $("#user-name").textContent = `${app.user.first_name} ${app.user.last_name}`;
  signedIn(app.user);
  $("#sign-out").addEventListener("click", () => signOut("/"));
  if (!allowed(app.user)) {
    document.body.classList.add("not-allowed");
    $("#not-allowed").hidden = false;
    $(".app-nav").hidden = true;
    return app;
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-section]");
    if (!link || event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    app.navigate(link.dataset.section);
  });
  window.addEventListener("popstate", () => show(current(), true));
  await show(current(), false);
  return app;
}
