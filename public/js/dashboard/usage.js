// Usage: totals, charts over 7/30/90 days, and the call log with filters, row details and a CSV download.

import { api, downloadPages } from "../api.js";
import { $, $$, copyText, h, replace, saveAs } from "../dom.js";
import { capitalize, credits, dateTime, number } from "../format.js";
import { modelNamer } from "../catalog.js";
import { dailyChart, doughnutChart, horizontalBarChart } from "../charts.js";
import { setBusy, setStatus } from "../forms.js";
import { showDetails } from "../dialog.js";
import { pagedTable } from "../tables.js";

const EXPORT_DAYS = 30; // the CSV's range when no dates are chosen

function statusBadge(c) {
  return h("span", { class: `badge ${c.status}` }, c.status === "failed" ? "Failed · refunded" : capitalize(c.status));
}

function sourceWords(c) {
  return c.source === "api" ? h("span", {}, "API", c.token_name ? h("span", { class: "muted" }, ` · ${c.token_name}`) : null) : "Dashboard";
}

// One call in full; the request id is what support asks for, so it can be copied.
function openCall(c, modelName) {
  const copy = h("button", { type: "button", class: "small", onclick: (e) => copyText(c.request_id, e.currentTarget) }, "Copy");
  const rows = [
    ["Request id", c.request_id ? h("span", { class: "secret" }, h("code", { id: "call-request-id" }, c.request_id), copy) : "—"],
    ["Time", dateTime(c.created_at)],
    ["Model", modelName(c.model)],
    ["Source", sourceWords(c)],
    ["Status", statusBadge(c)],
    ["Error", c.error_code ? h("code", {}, c.error_code) : "—"],
    ["Credits", c.status === "failed" ? "0 (refunded)" : number(c.credits)],
    ["Latency", c.latency_ms === null ? "—" : `${number(c.latency_ms)} ms`],
    ["Test call", c.test ? "Yes: a test token, never charged" : "No"],
    ["Image URL", c.image_url ? h("span", { class: "mono small" }, c.image_url) : "—"],
  ];
  return showDetails({
    title: "Call details",
    content: h("dl", { class: "details" }, rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])),
  });
}

function filterValues(section) {
  const query = new URLSearchParams();
  for (const input of $$("#calls-filters [name]", section)) if (input.value) query.set(input.name, input.value);
  return query;
}

function callsTable(section, modelName) {
  const table = pagedTable({
    label: "Call log",
    empty: h("p", {}, "No calls match. ", h("a", { href: "/dashboard/run", "data-section": "run" }, "Run a model"), " to see it listed here."),
    columns: [
      { label: "Time", cell: (c) => h("span", { class: "nowrap" }, dateTime(c.created_at)) },
      { label: "Model", cell: (c) => modelName(c.model) },
      { label: "Source", cell: sourceWords },
      { label: "Status", cell: (c) => h("span", {}, statusBadge(c), c.error_code ? h("span", { class: "muted small" }, ` ${c.error_code}`) : null,
        c.test ? h("span", { class: "badge test" }, "Test") : null) },
      { label: "Latency", num: true, cell: (c) => (c.latency_ms === null ? h("span", { class: "muted" }, "—") : `${number(c.latency_ms)} ms`) },
      { label: "Credits", num: true, cell: (c) => (c.status === "failed" ? "0" : number(c.credits)) },
      { label: "Request", cell: (c) => h("button", { type: "button", class: "small", "data-request": c.request_id || "", onclick: () => openCall(c, modelName) }, "Details") },
    ],
    load: async (page) => {
      const query = filterValues(section);
      query.set("page", page);
      const result = await api(`/api/account/usage/calls?${query}`);
      return { ...result, rows: result.calls };
    },
  });
  $("#calls-filters", section).addEventListener("change", () => table.reload(true));
  $("#calls-table", section).append(table.element);
  return table;
}

async function tokenFilter(section) {
  const { tokens } = await api("/api/tokens").catch(() => ({ tokens: [] }));
  $("#calls-token", section).append(...tokens.map((t) => h("option", { value: t.id }, `${t.name} (${t.prefix}…)`)));
}

// All pages of the CSV export as one file: the header row once.
function exportButton(section) {
  const button = $("#calls-export", section);
  const status = $("#calls-export-status", section);
  button.addEventListener("click", async () => {
    const today = new Date().toISOString().slice(0, 10);
    const to = $("#calls-to", section).value || today;
    const from = $("#calls-from", section).value || new Date(Date.parse(to) - (EXPORT_DAYS - 1) * 86_400_000).toISOString().slice(0, 10);
    setBusy(button, true);
    try {
      const pages = await downloadPages(`/api/account/usage/export?${new URLSearchParams({ from, to, format: "csv" })}`);
      const body = pages.map((text, i) => (i === 0 ? text : text.slice(text.indexOf("\r\n") + 2)));
      saveAs(new Blob(body, { type: "text/csv;charset=utf-8" }), `nexuspoint-usage-${from}-to-${to}.csv`);
      setStatus(status, `Your download of ${from} to ${to} has started.`);
    } catch (error) {
      setStatus(status, `The export failed: ${error.message}`, false);
    } finally {
      setBusy(button, false);
    }
  });
}

export async function mount(section, app) {
  const modelName = await modelNamer();
  $("#calls-model", section).append(...modelName.models.map((m) => h("option", { value: m.slug }, m.name)));
  await tokenFilter(section);
  const table = callsTable(section, modelName);
  exportButton(section);
  const period = $("#usage-period", section);

  async function refresh() {
    const days = period.querySelector("input:checked").value;
    const errorBox = $("#usage-error", section);
    let usage;
    try {
      usage = await api(`/api/account/usage?days=${days}`);
      replace(errorBox);
    } catch (error) {
      replace(errorBox, h("p", { class: "notice error" }, `Your usage couldn't be loaded: ${error.message}`));
      return;
    }
    $("#total-calls", section).textContent = number(usage.totals.calls);
    $("#total-credits", section).textContent = number(usage.totals.credits);
    $("#total-failed", section).textContent = number(usage.totals.failed);
    $("#usage-empty", section).hidden = usage.totals.calls + usage.totals.failed > 0;
    const daily = $("#chart-daily", section);
    daily.setAttribute("aria-label", `Calls and credits per day, ${usage.from} to ${usage.to}: ${usage.totals.calls} calls, ${credits(usage.totals.credits)}.`);
    await Promise.all([
      dailyChart(daily, usage.daily.map((d) => d.date), [
        { label: "Credits", data: usage.daily.map((d) => d.credits) },
        { label: "Calls", data: usage.daily.map((d) => d.calls), axis: "right" },
      ]),
      horizontalBarChart($("#chart-models", section), usage.by_model.map((m) => modelName(m.model)), usage.by_model.map((m) => m.credits), "Credits"),
      doughnutChart($("#chart-sources", section), ["Dashboard", "API"], [usage.by_source.dashboard.calls, usage.by_source.api.calls]),
    ]);
  }

  period.addEventListener("change", refresh);
  table.reload();
  await refresh();
  return {
    show() {
      refresh();
      table.reload();
    },
  };
}
