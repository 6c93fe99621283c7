// The API docs: code samples per model, and the reference drawn from /openapi.json.

import { api } from "./api.js";
import { $, copyText, h, replace } from "./dom.js";
import { credits } from "./format.js";
import { loadModels, outputWords } from "./catalog.js";
import { RESULT_EXAMPLES, samples } from "./code-samples.js";

const LANGUAGES = [["curl", "curl"], ["client", "Python client"], ["python", "Python (requests)"], ["javascript", "JavaScript"]];
const METHODS = ["get", "post", "put", "patch", "delete"];
const SECURITY_WORDS = { bearer: "API token", session: "dashboard session" };

// Descriptions in the spec mark code with backticks.
function withCode(text) {
  return String(text || "").split("`").map((part, i) => (i % 2 ? h("code", {}, part) : part));
}

function codeBlock(text, label) {
  const copy = h("button", { type: "button", class: "small copy", "aria-label": `Copy ${label}` }, "Copy");
  copy.addEventListener("click", () => copyText(text, copy));
  return h("div", { class: "code-block" }, copy, h("pre", {}, h("code", {}, text)));
}

// Tabs over one code sample per language.
function sampleTabs(id, code) {
  const buttons = [];
  const panels = LANGUAGES.map(([key, name], i) => h("div", { role: "tabpanel", id: `${id}-${key}`, "aria-labelledby": `${id}-${key}-tab`, hidden: i > 0 },
    codeBlock(code[key], `${name} sample`)));
  function select(index) {
    buttons.forEach((b, i) => {
      b.setAttribute("aria-selected", String(i === index));
      b.tabIndex = i === index ? 0 : -1;
      panels[i].hidden = i !== index;
    });
  }
  LANGUAGES.forEach(([key, name], i) => {
    const button = h("button", { type: "button", role: "tab", id: `${id}-${key}-tab`, "aria-controls": `${id}-${key}`, "aria-selected": String(i === 0), tabindex: i ? -1 : 0 }, name);
    button.addEventListener("click", () => select(i));
    button.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = (i + step + LANGUAGES.length) % LANGUAGES.length;
      select(next);
      buttons[next].focus();
    });
    buttons.push(button);
  });
  return h("div", {}, h("div", { class: "tabs", role: "tablist", "aria-label": "Language" }, buttons), panels);
}

async function renderModels() {
  const box = $("#model-samples");
  try {
    const models = await loadModels();
    replace($("#toc-models"), models.map((m) => h("li", {}, h("a", { href: `#model-${m.slug}` }, m.name))));
    replace(box, models.map((m) => h("div", { class: "card operation stack", id: `model-${m.slug}` },
      h("div", { class: "operation-title" }, h("h3", {}, m.name), h("span", { class: "method post" }, "POST"), h("code", {}, `/api/vision/${m.slug}`)),
      h("p", {}, m.description, " ", h("strong", {}, `${credits(m.cost)} per call.`), ` Answers with ${outputWords(m.output).toLowerCase()}.`),
      sampleTabs(`sample-${m.slug}`, samples(location.origin, m.slug, m.output)),
      h("details", {}, h("summary", {}, "What ", h("code", {}, "results"), " looks like"),
        h("pre", {}, h("code", {}, JSON.stringify(RESULT_EXAMPLES[m.output], null, 2)))))));
  } catch (error) {
    replace(box, h("p", { class: "notice error" }, `The models couldn't be loaded: ${error.message}`));
  } finally {
    box.removeAttribute("aria-busy");
  }
}

// --- the reference ----------------------------------------------------------

function resolve(spec, node) {
  let value = node;
  while (value && value.$ref) value = value.$ref.replace(/^#\//, "").split("/").reduce((at, key) => at[key], spec);
  return value || {};
}

function typeOf(spec, schema) {
  const s = resolve(spec, schema);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  const type = Array.isArray(s.type) ? s.type.join(" | ") : s.type;
  if (type === "array") return `array of ${typeOf(spec, s.items)}`;
  if (!type) return schema && schema.$ref ? schema.$ref.split("/").pop() : "any";
  return s.format ? `${type} (${s.format})` : type;
}

// Rows of name / type / required / description, nested properties as dotted names.
function schemaRows(spec, schema, prefix = "", depth = 0) {
  const s = resolve(spec, schema);
  const props = s.properties || (s.items && resolve(spec, s.items).properties);
  if (!props || depth > 3) return [];
  const required = new Set(s.required || []);
  return Object.entries(props).flatMap(([name, child]) => {
    const c = resolve(spec, child);
    const limits = [c.minLength !== undefined && `min length ${c.minLength}`, c.maxLength !== undefined && `max length ${c.maxLength}`,
      c.minimum !== undefined && `≥ ${c.minimum}`, c.maximum !== undefined && `≤ ${c.maximum}`].filter(Boolean).join(", ");
    return [
      h("tr", {}, h("td", {}, h("code", {}, prefix + name)), h("td", {}, typeOf(spec, child)), h("td", {}, required.has(name) ? "required" : ""),
        h("td", {}, [c.description, limits].filter(Boolean).join(" · "))),
      ...schemaRows(spec, child, `${prefix}${name}.`, depth + 1),
    ];
  });
}

function schemaTable(spec, schema, label) {
  const rows = schemaRows(spec, schema);
  if (!rows.length) return h("p", { class: "small muted" }, `Type: ${typeOf(spec, schema)}`);
  return h("div", { class: "table-wrap schema" }, h("table", {}, h("caption", { class: "visually-hidden" }, label),
    h("thead", {}, h("tr", {}, ["Field", "Type", "", "Notes"].map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows)));
}

function parametersTable(spec, parameters) {
  return h("div", { class: "table-wrap schema" }, h("table", {}, h("caption", { class: "visually-hidden" }, "Parameters"),
    h("thead", {}, h("tr", {}, ["Name", "In", "Type", "", "Notes"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, parameters.map((p) => resolve(spec, p)).map((p) => h("tr", {},
      h("td", {}, h("code", {}, p.name)), h("td", {}, p.in), h("td", {}, typeOf(spec, p.schema)),
      h("td", {}, p.required ? "required" : ""), h("td", {}, p.description || ""))))));
}

function operationCard(spec, path, method, op) {
  const id = `op-${method}-${path.replace(/[^a-z0-9]+/gi, "-")}`;
  const security = op.security ?? spec.security ?? [];
  const who = security.length ? security.flatMap((s) => Object.keys(s)).map((k) => SECURITY_WORDS[k] || k).join(" or ") : "none (public)";
  const body = op.requestBody && resolve(spec, op.requestBody);
  return h("details", { class: "card operation", id },
    h("summary", { class: "operation-title" }, h("span", { class: `method ${method}` }, method.toUpperCase()), h("code", {}, path), h("span", { class: "muted" }, op.summary || "")),
    op.description ? h("p", {}, withCode(op.description)) : null,
    h("p", { class: "small" }, h("strong", {}, "Authentication: "), who),
    op.parameters && op.parameters.length ? [h("h4", {}, "Parameters"), parametersTable(spec, op.parameters)] : null,
    body ? [h("h4", {}, "Request body", body.required ? " (required)" : ""),
      Object.entries(body.content || {}).map(([type, media]) => h("div", {}, h("p", { class: "small" }, h("code", {}, type)), schemaTable(spec, media.schema, `${type} body`)))] : null,
    h("h4", {}, "Responses"),
    h("ul", { class: "small" }, Object.entries(op.responses || {}).map(([status, response]) => {
      const r = resolve(spec, response);
      return h("li", {}, h("strong", {}, status), ` ${r.description || ""}`);
    })));
}

async function renderReference() {
  const box = $("#reference-body");
  try {
    const spec = await api("/openapi.json", { redirectOn401: false });
    if (spec.info && spec.info.description) replace($("#api-description"), withCode(spec.info.description));
    const groups = new Map();
    for (const [path, item] of Object.entries(spec.paths || {})) {
      for (const method of METHODS.filter((m) => item[m])) {
        const tag = (item[method].tags || ["Other"])[0];
        if (!groups.has(tag)) groups.set(tag, []);
        groups.get(tag).push(operationCard(spec, path, method, item[method]));
      }
    }
    const slug = (tag) => `ref-${tag.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
    replace($("#toc-reference"), [...groups.keys()].map((tag) => h("li", {}, h("a", { href: `#${slug(tag)}` }, tag))));
    replace(box, [...groups].map(([tag, cards]) => h("div", { class: "stack", id: slug(tag) }, h("h3", {}, tag), cards)));
  } catch (error) {
    replace(box, h("p", { class: "notice error" }, `The reference couldn't be loaded: ${error.message}`));
  } finally {
    box.removeAttribute("aria-busy");
  }
}

$("#base-url").textContent = location.origin;
replace($("#test-token-example"), codeBlock(
  `curl -H "Authorization: Bearer np_test_YOUR_TOKEN" -H "Content-Type: application/json" \\\n`
  + `     -d '{"url": "https://sandbox.nexuspoint.invalid/error/upstream_timeout"}' \\\n`
  + `     ${location.origin}/api/vision/object-detection`, "test token example"));
await Promise.all([renderModels(), renderReference()]);
if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
