// The run form's options row: the chosen model's optional parameters, as /api/vision/models
// lists them (option_specs, the same schemas as the OpenAPI spec), checked the way the server will.

import { h, replace } from "../dom.js";
import { showFieldError } from "../forms.js";

const LABELS = { min_confidence: "Minimum confidence", max_results: "At most this many results", lang: "Language" };
const PLACEHOLDERS = { min_confidence: "0.25", max_results: "100", lang: "en" };

function inputFor(name, spec) {
  const attrs = { id: `option-${name}`, name, "data-option": name, placeholder: PLACEHOLDERS[name] || "", "aria-describedby": `option-${name}-hint option-${name}-error` };
  if (spec.type === "string") return h("input", { ...attrs, type: "text", maxlength: spec.maxLength, autocomplete: "off", spellcheck: "false" });
  return h("input", { ...attrs, type: "number", inputmode: spec.type === "integer" ? "numeric" : "decimal",
    min: spec.minimum, max: spec.maximum, step: spec.type === "integer" ? 1 : "any" });
}

function field(name, spec) {
  return h("div", { class: "field" },
    h("label", { for: `option-${name}` }, LABELS[name] || name),
    inputFor(name, spec),
    h("p", { class: "hint", id: `option-${name}-hint` }, spec.description),
    h("p", { class: "field-error", id: `option-${name}-error`, "aria-live": "polite" }));
}

// What the server would say about this value, or "" (an empty box is no option at all).
function problem(input, spec) {
  const text = input.value.trim();
  if (!text) return input.validity.badInput ? `Enter a number from ${spec.minimum} to ${spec.maximum}.` : "";
  if (spec.type === "string") return text.length > spec.maxLength ? `Use at most ${spec.maxLength} characters.` : "";
  const value = Number(text);
  const whole = spec.type === "integer";
  if (!Number.isFinite(value) || (whole && !Number.isInteger(value)) || value < spec.minimum || value > spec.maximum) {
    return `Enter ${whole ? "a whole number" : "a number"} from ${spec.minimum} to ${spec.maximum}.`;
  }
  return "";
}

// fieldset: the <fieldset> holding the row (hidden for a model without options).
export function optionsRow(fieldset, row) {
  let specs = {};
  const inputs = () => [...row.querySelectorAll("input[data-option]")];

  return {
    // Show the options of `model`, keeping what was typed for an option both models share.
    show(model) {
      const typed = Object.fromEntries(inputs().map((input) => [input.name, input.value]));
      specs = (model && model.option_specs) || {};
      replace(row, Object.entries(specs).map(([name, spec]) => field(name, spec)));
      for (const input of inputs()) input.value = typed[input.name] || "";
      fieldset.hidden = !Object.keys(specs).length;
    },
    // {name: value} of the filled-in options, or null after marking the wrong ones.
    values() {
      let ok = true;
      const out = {};
      for (const input of inputs()) {
        const message = problem(input, specs[input.name]);
        showFieldError(input, message);
        if (message && ok) input.focus();
        if (message) ok = false;
        else if (input.value.trim()) out[input.name] = specs[input.name].type === "string" ? input.value.trim() : Number(input.value);
      }
      return ok ? out : null;
    },
    // The input the server's error names (`field`), if it is one of ours.
    input(name) {
      return inputs().find((input) => input.name === name) || null;
    },
  };
}
