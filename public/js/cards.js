// Cards that several pages show: a vision model, a credit pack.

import { h } from "./dom.js";
import { credits, money } from "./format.js";
import { outputWords } from "./catalog.js";

export function modelCard(model) {
  return h("article", { class: "card model-card", dataset: { model: model.slug } },
    h("h3", {}, model.name),
    h("span", { class: "cost" }, credits(model.cost), " per image"),
    h("p", { class: "muted small" }, model.description),
    h("span", { class: "kind" }, outputWords(model.output)));
}

// action: a button or link placed at the bottom of the card.
export function packCard(pack, action) {
  return h("article", { class: "card pack-card", dataset: { pack: pack.id } },
    h("h3", {}, pack.name),
    h("span", { class: "price" }, money(pack.price_cents, pack.currency)),
    h("strong", {}, credits(pack.credits)),
    h("span", { class: "per" }, `${(pack.price_cents / pack.credits).toFixed(1)}¢ per credit`),
    action);
}
