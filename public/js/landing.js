// The landing page: the model catalogue and the credit packs, from the API.

import { $, h, replace } from "./dom.js";
import { loadModels, loadPacks } from "./catalog.js";
import { modelCard, packCard } from "./cards.js";

async function fill(container, load, render, emptyText) {
  try {
    const items = await load();
    replace(container, items.length ? items.map(render) : h("p", { class: "empty" }, emptyText));
  } catch (error) {
    replace(container, h("p", { class: "notice error" }, `Couldn't load this list: ${error.message}`));
  } finally {
    container.removeAttribute("aria-busy");
  }
}

fill($("#model-list"), loadModels, modelCard, "The model list is empty right now.");
fill($("#pack-list"), loadPacks,
  (pack) => packCard(pack, h("a", { class: "button primary", href: "/signup" }, "Sign up to buy")),
  "No credit packs are on sale right now.");

if (new URLSearchParams(location.search).get("account") === "deleted") $("#deleted-notice").hidden = false;
