// Forms: inline validation as people type, the server's errors next to the
// field they concern, and a busy submit button while a request is out.

import { ApiError } from "./api.js";
import { h } from "./dom.js";

function labelOf(input) {
  const label = input.labels && input.labels[0];
  return label ? label.textContent.replace(/\(optional\)/i, "").trim().toLowerCase() : "this field";
}

function errorSlot(input) {
  return input.form.querySelector(`#${input.id}-error`);
}

export function problemWith(input) {
  const value = input.type === "checkbox" ? input.checked : input.value.trim();
  const { minLength, maxLength } = input;
  if (input.required && !value) return input.type === "checkbox" ? "Tick this box to continue." : `Enter your ${labelOf(input)}.`;
  if (!value) return "";
  if (input.type === "email" && input.validity.typeMismatch) return "Enter a valid email address, like name@example.com.";
  if (input.type === "url" && input.validity.typeMismatch) return "Enter a full URL, starting with https://.";
  if (minLength > 0 && input.value.length < minLength) return `Use at least ${minLength} characters.`;
  if (maxLength > 0 && input.value.length > maxLength) return `Use at most ${maxLength} characters.`;
  if (input.validity.rangeUnderflow || input.validity.rangeOverflow || input.validity.stepMismatch) {
    return `Enter a whole number from ${input.min} to ${input.max}.`;
  }
  if (input.dataset.match && input.value !== input.form.elements[input.dataset.match].value) return "The passwords don't match.";
  return "";
}

export function showFieldError(input, message) {
  const slot = errorSlot(input);
  if (slot) slot.textContent = message;
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

function fields(form) {
  return [...form.elements].filter((el) => el.name && el.id && el.type !== "submit" && el.type !== "button");
}

function clearErrors(form) {
  fields(form).forEach((input) => showFieldError(input, ""));
  const formError = form.querySelector(".form-error");
  if (formError) formError.textContent = "";
}

// Put an error where it belongs: next to its field, or above the buttons.
function showError(form, error) {
  const input = error.field && form.elements[error.field];
  if (input && input.id) {
    showFieldError(input, error.message);
    input.focus();
    return;
  }
  const formError = form.querySelector(".form-error");
  if (formError) formError.textContent = error.message;
}

export function values(form) {
  const out = {};
  for (const input of fields(form)) {
    if (input.type === "checkbox") out[input.name] = input.checked;
    else if (input.type === "number") out[input.name] = Number(input.value);
    else out[input.name] = input.autocomplete.includes("password") ? input.value : input.value.trim();
  }
  return out;
}

export function setBusy(button, busy) {
  if (!button) return;
  button.disabled = busy;
  if (busy) button.setAttribute("aria-busy", "true");
  else button.removeAttribute("aria-busy");
}

export function setStatus(el, text, ok = true) {
  el.textContent = text;
  el.classList.toggle("ok", ok);
  el.classList.toggle("bad", !ok);
}

// submit(values) returns a promise; success(result) runs after it resolves.
export function bindForm(form, { submit, success }) {
  form.noValidate = true;
  for (const input of fields(form)) {
    input.addEventListener("blur", () => {
      if (input.value || input.getAttribute("aria-invalid")) showFieldError(input, problemWith(input));
    });
    input.addEventListener("input", () => {
      if (input.getAttribute("aria-invalid")) showFieldError(input, problemWith(input));
    });
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const invalid = fields(form).filter((input) => {
      const message = problemWith(input);
      showFieldError(input, message);
      return message;
    });
    if (invalid.length) {
      invalid[0].focus();
      return;
    }
    const button = form.querySelector("button[type=submit]");
    setBusy(button, true);
    try {
      const result = await submit(values(form));
      if (success) await success(result);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showError(form, error);
    } finally {
      setBusy(button, false);
    }
  });
}

// "Show" buttons beside password inputs.
export function passwordToggles(root = document) {
  for (const button of root.querySelectorAll(".password-wrap .toggle")) {
    const input = button.parentElement.querySelector("input");
    button.addEventListener("click", () => {
      const hidden = input.type === "password";
      input.type = hidden ? "text" : "password";
      button.textContent = hidden ? "Hide" : "Show";
      button.setAttribute("aria-pressed", String(hidden));
    });
  }
}

// A labelled field built in script, with the error slot bindForm expects.
export function field({ id, label, hint, ...attrs }) {
  const describedBy = [`${id}-error`, hint ? `${id}-hint` : null].filter(Boolean).join(" ");
  const control = attrs.type === "textarea"
    ? h("textarea", { id, ...attrs, type: null, "aria-describedby": describedBy })
    : h("input", { id, ...attrs, "aria-describedby": describedBy });
  return h("div", { class: "field" },
    h("label", { for: id }, label),
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
    control,
    h("p", { class: "field-error", id: `${id}-error`, "aria-live": "polite" }));
}
