// Usage: totals, charts over 7/30/90 days, and the call log with filters.

import { api } from "../api.js";
import { $, h, replace } from "../dom.js";
import { capitalize, credits, dateTime, number } from "../format.js";
import { modelNamer } from "../catalog.js";
import { dailyChart, doughnutChart, horizontalBarChart } from "../charts.js";
import { pagedTable } from "../tables.js";

function callsTable(section, modelName) {
  const modelFilter = $("#calls-model", section);
  const sourceFilter = $("#calls-source", section);
  const table = pagedTable({
    label: "Call log",
    empty: h("p", {}, "No calls match. ", h("a", { href: "/dashboard/run", "data-section": "run" }, "Run a model"), " to see it listed here."),
    columns: [
      { label: "Time", cell: (c) => h("span", { class: "nowrap" }, dateTime(c.created_at)) },
      { label: "Model", cell: (c) => modelName(c.model) },
      { label: "Source", cell: (c) => (c.source === "api" ? h("span", {}, "API", c.token_name ? h("span", { class: "muted" }, ` · ${c.token_name}`) : null) : "Dashboard") },
      { label: "Image URL", cell: (c) => (c.image_url ? h("span", { class: "mono small" }, c.image_url) : h("span", { class: "muted" }, "—")) },
      { label: "Status", cell: (c) => h("span", { class: `badge ${c.status}` }, c.status === "failed" ? "Failed · refunded" : capitalize(c.status)) },
      { label: "Credits", num: true, cell: (c) => (c.status === "failed" ? "0" : number(c.credits)) },
    ],
    load: async (page) => {
      const query = new URLSearchParams({ page });
      if (modelFilter.value) query.set("model", modelFilter.value);
      if (sourceFilter.value) query.set("source", sourceFilter.value);
      const result = await api(`/api/account/usage/calls?${query}`);
      return { ...result, rows: result.calls };
    },
  });
  modelFilter.addEventListener("change", () => table.reload(true));
  sourceFilter.addEventListener("change", () => table.reload(true));
  $("#calls-table", section).append(table.element);
  return table;
}

export async function mount(section, app) {
  const modelName = await modelNamer();
  $("#calls-model", section).append(...modelName.models.map((m) => h("option", { value: m.slug }, m.name)));
  const table = callsTable(section, modelName);
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
