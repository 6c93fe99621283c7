// Run a model: pick one, give it an image (file, drop, paste or URL), see the cost,
// watch the upload, and get the result drawn on the image.

import { ApiError, api, upload } from "../api.js";
import { $, h, replace } from "../dom.js";
import { credits, number } from "../format.js";
import { loadModels, outputWords } from "../catalog.js";
import { problemWith, setBusy, showFieldError } from "../forms.js";
import { optionsRow } from "./run-options.js";
import { resultView } from "./result-view.js";

const MAX_IMAGE_BYTES = 4 * 1024 * 1024;
const IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp"];

function notice(kind, title, ...detail) {
  return h("div", { class: `notice ${kind}` }, h("p", {}, h("strong", {}, title)), detail.length ? h("p", {}, detail) : null);
}

function buyLink() {
  return h("a", { href: "/dashboard/billing", "data-section": "billing" }, "Buy credits");
}

// Every way a run can fail, said in words, with what to do next.
function explain(error) {
  const retry = error.detail.retry_after;
  switch (error.status) {
    case 402: return notice("error", "Not enough credits.", error.message, " ", buyLink(), " to continue.");
    case 413: return notice("error", "The image is too large.", error.message);
    case 415: return notice("error", "That file type isn't supported.", error.message);
    case 422: return notice("error", "The image couldn't be used.", error.message, " You were not charged.");
    case 429: return notice("warn", "Too many requests.", retry ? `Wait ${retry} seconds and try again.` : error.message);
    case 501: return notice("error", "This model isn't available offline.",
      "It needs SentiSight.ai, which isn't set up on this server (set SENTISIGHT_API_TOKEN). You were not charged. ", h("span", { class: "small" }, error.message));
    case 502: return notice("error", "The vision service failed.", "It answered with an error. You were not charged; try again in a moment.");
    case 504: return notice("error", "The vision service took too long.", "You were not charged; try again in a moment, or with a smaller image.");
    case 503: return notice("error", "This model can't run right now.", error.message);
    default: return notice("error", "The run failed.", error.message);
  }
}

function modelOption(model, checked) {
  return h("label", { class: "model-option" },
    h("input", { type: "radio", name: "model", value: model.slug, checked, disabled: !model.available }),
    h("span", { class: "name" }, model.name),
    h("span", { class: "meta" }, `${credits(model.cost)} · ${outputWords(model.output)}`),
    model.available ? null : h("span", { class: "meta" }, "Not available on this server"));
}

export async function mount(section, app) {
  const form = $("#run-form", section);
  const picker = $("#model-picker", section);
  const fileInput = $("#image-file", section);
  const urlInput = $("#image-url", section);
  const preview = $("#image-preview", section);
  const dropzone = $("#dropzone", section);
  const costLine = $("#cost-line", section);
  const runButton = $("#run-button", section);
  const clearButton = $("#clear-image", section);
  const progress = $("#upload-progress", section);
  const progressText = $("#progress-text", section);
  const errorBox = $("#run-error", section);
  const resultBox = $("#result", section);
  const options = optionsRow($("#run-options", section), $("#options-row", section));
  let models = [];
  let file = null;
  let previewUrl = null;

  try {
    models = await loadModels();
  } catch (error) {
    replace(picker, notice("error", "The models couldn't be loaded.", error.message));
    return {};
  } finally {
    picker.removeAttribute("aria-busy");
  }
  const wanted = new URLSearchParams(location.search).get("model");
  const initial = models.find((m) => m.slug === wanted && m.available) || models.find((m) => m.available);
  replace(picker, models.map((m) => modelOption(m, m === initial)));

  const selected = () => models.find((m) => m.slug === form.elements.model.value);
  options.show(selected());

  function updateCost() {
    const model = selected();
    if (!model) {
      replace(costLine, "Choose a model to see its cost.");
      runButton.disabled = true;
      return;
    }
    const balance = app.user.credits;
    const short = model.cost - balance;
    runButton.disabled = short > 0;
    replace(costLine, short > 0
      ? h("span", {}, `${model.name} costs ${credits(model.cost)}; you have ${number(balance)}. `, buyLink(), ` to get ${number(short)} more.`)
      : h("span", {}, `${model.name} costs `, h("strong", {}, credits(model.cost)), `. You have ${number(balance)}.`));
  }

  // One Idempotency-Key per run the person asked for: a double click, or a click again after a
  // lost connection, with the same image, model and options is charged once. Any change makes a new key.
  let runKey = null;

  function setFile(chosen) {
    runKey = null;
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    file = chosen;
    previewUrl = chosen ? URL.createObjectURL(chosen) : null;
    preview.hidden = !chosen;
    if (chosen) {
      preview.src = previewUrl;
      urlInput.value = "";
      showFieldError(urlInput, "");
    } else {
      preview.removeAttribute("src");
      fileInput.value = "";
    }
    $("#dropzone-text", section).hidden = Boolean(chosen);
    clearButton.hidden = !chosen;
  }

  picker.addEventListener("change", () => {
    options.show(selected());
    updateCost();
  });
  fileInput.addEventListener("change", () => setFile(fileInput.files[0] || null));
  urlInput.addEventListener("input", () => {
    if (urlInput.value.trim() && file) setFile(null);
  });
  clearButton.addEventListener("click", () => setFile(null));
  for (const type of ["dragenter", "dragover"]) {
    dropzone.addEventListener(type, (event) => {
      event.preventDefault();
      dropzone.classList.add("dragging");
    });
  }
  for (const type of ["dragleave", "drop"]) dropzone.addEventListener(type, () => dropzone.classList.remove("dragging"));
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer.files[0]) setFile(event.dataTransfer.files[0]);
  });
  document.addEventListener("paste", (event) => {
    const pasted = [...(event.clipboardData?.files || [])].find((f) => f.type.startsWith("image/"));
    if (pasted && !section.hidden) setFile(pasted);
  });

  // Problems we can see before sending anything, said the way the server would.
  function precheck(model) {
    if (!file && !urlInput.value.trim()) return new ApiError(400, { error: { message: "Choose an image file, drop or paste one, or enter its URL." } });
    if (!file) {
      const problem = problemWith(urlInput);
      return problem ? new ApiError(400, { error: { message: problem, field: "url" } }) : null;
    }
    if (!IMAGE_TYPES.includes(file.type)) return new ApiError(415, { error: { message: `"${file.name}" is not a JPEG, PNG, WebP, GIF or BMP image.` } });
    if (file.size > MAX_IMAGE_BYTES) return new ApiError(413, { error: { message: `"${file.name}" is ${(file.size / 1_048_576).toFixed(1)} MB; the limit is 4 MB. Resize or compress it first.` } });
    if (model.cost > app.user.credits) return new ApiError(402, { error: { message: `This run costs ${credits(model.cost)} and your balance is ${number(app.user.credits)}.` } });
    return null;
  }

  function showProgress(fraction, text) {
    progress.hidden = fraction === null && !text;
    if (fraction === null) progress.removeAttribute("value");
    else progress.value = fraction;
    progressText.textContent = text;
  }

  form.addEventListener("input", () => { runKey = null; });
  form.addEventListener("change", () => { runKey = null; });

  async function send(model, chosen) {
    const path = `/api/vision/${model.slug}`;
    runKey = runKey || crypto.randomUUID();
    const headers = { "Idempotency-Key": runKey };
    if (!file) {
      showProgress(null, `Running ${model.name} on the image at your URL…`);
      return api(path, { method: "POST", body: { url: urlInput.value.trim(), ...chosen }, headers });
    }
    const body = new FormData();
    body.append("image", file);
    for (const [name, value] of Object.entries(chosen)) body.append(name, String(value));
    showProgress(0, "Uploading… 0%");
    return upload(path, body, {
      headers,
      onProgress: (fraction) => showProgress(fraction, `Uploading… ${Math.round(fraction * 100)}%`),
      onUploaded: () => showProgress(null, `Uploaded. ${model.name} is looking at your image…`),
    });
  }

  function showResult(response, model) {
    const size = response.image && response.image.width ? ` · ${response.image.width}×${response.image.height} px` : "";
    replace(resultBox,
      h("div", { class: "result-meta" },
        h("span", {}, h("strong", {}, model.name)),
        h("span", {}, `Charged ${credits(response.credits_charged)} · ${number(response.credits_remaining)} left`),
        h("span", {}, `Engine: ${response.engine}${size}`)),
      resultView(response, file ? previewUrl : null));
    resultBox.dataset.model = model.slug;
    if (resultBox.getBoundingClientRect().top > innerHeight) resultBox.scrollIntoView({ block: "start" });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const model = selected();
    if (!model) return;
    replace(errorBox);
    const problem = precheck(model);
    if (problem) {
      if (problem.field) showFieldError(urlInput, problem.message);
      else replace(errorBox, explain(problem));
      return;
    }
    const chosen = options.values();
    if (!chosen) return;  // the wrong option is marked next to its box
    setBusy(runButton, true);
    resultBox.setAttribute("aria-busy", "true");
    try {
      const response = await send(model, chosen);
      app.setBalance(response.credits_remaining);
      showResult(response, model);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const optionInput = error.field && options.input(error.field);
      if (error.field === "url") showFieldError(urlInput, error.message);
      else if (optionInput) showFieldError(optionInput, error.message);
      else replace(errorBox, explain(error));
      if (typeof error.detail.credits_remaining === "number") app.setBalance(error.detail.credits_remaining);
    } finally {
      setBusy(runButton, false);
      resultBox.removeAttribute("aria-busy");
      showProgress(null, "");
      updateCost();
    }
  });

  updateCost();
  return { show: updateCost };
}
