// A model's answer drawn for people: shapes over the image in an SVG overlay,
// with the labels, text or scores listed beside it.

import { h, saveAs, svg } from "../dom.js";
import { percent } from "../format.js";

const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#0fa3b1", "#f032e6", "#7a9a01", "#9a6324", "#000075"];
const MIN_KEYPOINT_SCORE = 0.2;

function colorFor(label) {
  let hash = 0;
  for (const ch of String(label)) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return PALETTE[hash % PALETTE.length];
}

function points(polygon) {
  return polygon.map(([x, y]) => `${x},${y}`).join(" ");
}

// The image's size, or (for a URL the page can't show) the extent of the shapes.
function frameSize(image, coordinates) {
  if (image && image.width && image.height) return { width: image.width, height: image.height };
  const xs = coordinates.map(([x]) => x);
  const ys = coordinates.map(([, y]) => y);
  return { width: Math.max(100, ...xs) * 1.05, height: Math.max(100, ...ys) * 1.05 };
}

// `placed` holds the captions already drawn on this image: boxes that share a corner get their
// captions stacked instead of printed over each other.
function caption(x, y, text, font, placed = []) {
  let at = y < font * 1.3 ? y + font * 1.1 : y - font * 0.35;
  while (placed.some(([px, py]) => Math.abs(px - x) < font * 5 && Math.abs(py - at) < font * 1.1)) at += font * 1.2;
  placed.push([x, at]);
  return svg("text", { x: x + font * 0.3, y: at, "font-size": font, "stroke-width": font / 5 }, text);
}

function stage(imageSrc, size, shapes, description) {
  const font = Math.max(10, Math.round(Math.max(size.width, size.height) / 24));
  const overlay = svg("svg", {
    class: "overlay", viewBox: `0 0 ${size.width} ${size.height}`, preserveAspectRatio: "none",
    role: "img", "aria-label": description, "data-shapes": shapes.length,
  }, imageSrc ? null : svg("rect", { width: size.width, height: size.height, fill: "#e4e7ec" }), shapes.map((draw) => draw(font)));
  if (!imageSrc) {
    return h("div", {}, h("div", { class: "stage blank" }, overlay),
      h("p", { class: "hint" }, "The image itself isn't shown for URLs: this page loads images only from NexusPoint. The shapes are drawn where the model found them."));
  }
  return h("div", { class: "stage" }, h("img", { src: imageSrc, alt: "Your image", width: size.width, height: size.height }), overlay);
}

function swatch(color) {
  const el = h("span", { class: "swatch", "aria-hidden": "true" });
  el.style.setProperty("--swatch", color);
  return el;
}

function list(items) {
  if (!items.length) return h("p", { class: "muted" }, "Nothing found in this image.");
  return h("ol", { class: "result-list" }, items.map(([color, label, score]) =>
    h("li", {}, h("span", {}, color && swatch(color), label), h("span", { class: "muted" }, score))));
}

function split(left, right) {
  return h("div", { class: "result-split" }, left, h("div", {}, right));
}

function objects(results, image, imageSrc) {
  const found = results.objects;
  const outlined = found.some((o) => o.polygon && o.polygon.length);
  const corners = found.flatMap((o) => (o.polygon && o.polygon.length ? o.polygon : [[o.box.x0, o.box.y0], [o.box.x1, o.box.y1]]));
  const placed = [];
  const shapes = found.map((o) => (font) => {
    const color = colorFor(o.label);
    const text = `${o.label} ${percent(o.score)}`;
    if (outlined && o.polygon && o.polygon.length) {
      const [x, y] = o.polygon.reduce(([ax, ay], [px, py]) => [Math.min(ax, px), Math.min(ay, py)], [Infinity, Infinity]);
      return svg("g", { class: "detection" }, svg("polygon", { class: "region", points: points(o.polygon), fill: color, stroke: color }), caption(x, y, text, font, placed));
    }
    const { x0, y0, x1, y1 } = o.box;
    return svg("g", { class: "detection" }, svg("rect", { class: "shape box", x: x0, y: y0, width: x1 - x0, height: y1 - y0, stroke: color }), caption(x0, y0, text, font, placed));
  });
  const what = outlined ? "outlined" : "boxed";
  return split(stage(imageSrc, frameSize(image, corners), shapes, `${found.length} objects ${what} on the image`),
    [h("h3", {}, `${found.length} ${found.length === 1 ? "object" : "objects"}`), list(found.map((o) => [colorFor(o.label), o.label, percent(o.score)]))]);
}

function textLines(results, image, imageSrc) {
  const lines = results.lines || [];
  const shapes = lines.filter((l) => l.polygon && l.polygon.length).map((l) => () => svg("polygon", { class: "text-line", points: points(l.polygon) }));
  const text = results.text || lines.map((l) => l.text).join("\n");
  return split(stage(imageSrc, frameSize(image, lines.flatMap((l) => l.polygon || [])), shapes, `${lines.length} lines of text marked on the image`),
    [h("h3", {}, `${lines.length} ${lines.length === 1 ? "line" : "lines"} of text`),
      text ? h("pre", { class: "ocr-text" }, text) : h("p", { class: "muted" }, "No text found in this image.")]);
}

function poses(results, image, imageSrc) {
  const people = results.people || [];
  const skeleton = results.skeleton || [];
  const shapes = people.map((person, i) => (font) => {
    const color = PALETTE[i % PALETTE.length];
    const seen = new Map(person.keypoints.filter((k) => (k.score ?? 1) >= MIN_KEYPOINT_SCORE).map((k) => [k.name, k]));
    const bones = skeleton.filter(([a, b]) => seen.has(a) && seen.has(b)).map(([a, b]) =>
      svg("line", { class: "bone", x1: seen.get(a).x, y1: seen.get(a).y, x2: seen.get(b).x, y2: seen.get(b).y, stroke: color }));
    const joints = [...seen.values()].map((k) => svg("circle", { class: "joint", cx: k.x, cy: k.y, r: font / 3 }));
    return svg("g", { class: "person" }, bones, joints);
  });
  const allPoints = people.flatMap((p) => p.keypoints.map((k) => [k.x, k.y]));
  return split(stage(imageSrc, frameSize(image, allPoints), shapes, `${people.length} people with their poses drawn on the image`),
    [h("h3", {}, `${people.length} ${people.length === 1 ? "person" : "people"}`),
      list(people.map((p, i) => [PALETTE[i % PALETTE.length], `Person ${i + 1} · ${p.keypoints.length} key points`, percent(p.score)]))]);
}

function labelBars(results, imageSrc) {
  const labels = results.labels.slice(0, 10);
  const bars = labels.length ? h("ol", { class: "bars" }, labels.map((l) => {
    const fill = h("div", { class: "bar-fill" });
    fill.style.setProperty("--value", percent(l.score));
    return h("li", {}, h("div", { class: "bar-label" }, h("span", {}, l.label), h("strong", {}, percent(l.score))),
      h("div", { class: "bar-track", "aria-hidden": "true" }, fill));
  })) : h("p", { class: "muted" }, "The model returned no labels for this image.");
  const picture = imageSrc ? h("div", { class: "stage" }, h("img", { src: imageSrc, alt: "Your image" })) : null;
  return split(picture || h("p", { class: "muted" }, "Labels for the image at your URL:"), [h("h3", {}, "Best matches"), bars]);
}

function cutout(dataUrl) {
  const download = h("button", { type: "button", class: "primary", onclick: () => saveAs(dataUrl, "nexuspoint-cutout.png") }, "Download PNG");
  return h("div", { class: "stack" },
    h("div", { class: "stage checkerboard" }, h("img", { src: dataUrl, alt: "The subject cut out from its background", id: "cutout-image" })),
    h("p", { class: "hint" }, "The checkerboard shows where the image is transparent."),
    h("div", { class: "form-actions" }, download));
}

// response: the POST /api/vision/<slug> body; imageSrc: a blob: URL of the uploaded file, or null for a URL input.
export function resultView(response, imageSrc) {
  const { results, image } = response;
  if (results.image) return cutout(results.image);
  if (results.labels) return labelBars(results, imageSrc);
  if (results.people) return poses(results, image, imageSrc);
  if (results.lines || results.text !== undefined) return textLines(results, image, imageSrc);
  if (results.objects) return objects(results, image, imageSrc);
  return h("pre", {}, JSON.stringify(results, null, 2));
}
