// The vision models and credit packs on sale, as the API lists them.

import { api } from "./api.js";

const OUTPUT_WORDS = {
  labels: "Ranked labels",
  boxes: "Boxes with labels",
  polygons: "Outlines with labels",
  text: "Text with positions",
  keypoints: "Body key points",
  image: "Cut-out image",
};

export function outputWords(output) {
  return OUTPUT_WORDS[output] || "";
}

// [{slug, name, cost, output, description, options, option_specs, backend, available, engine, licence, reason}]
export async function loadModels() {
  return (await api("/api/vision/models", { redirectOn401: false })).models;
}

// [{id, name, credits, price_cents, currency}]
export async function loadPacks() {
  return (await api("/api/billing/packs", { redirectOn401: false })).packs;
}

// slug -> the model's name, for lists that only carry slugs (a slug stays as it is if unknown).
export async function modelNamer() {
  const models = await loadModels().catch(() => []);
  const names = new Map(models.map((m) => [m.slug, m.name]));
  return Object.assign((slug) => names.get(slug) || slug, { models });
}
