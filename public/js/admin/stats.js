// Admin · platform statistics over 7/30/90 days.

import { api } from "../api.js";
import { $, h, replace } from "../dom.js";
import { money, number } from "../format.js";
import { dailyChart, horizontalBarChart } from "../charts.js";
import { modelNamer } from "../catalog.js";

export async function mount(section) {
  const period = $("#stats-period", section);
  const modelName = await modelNamer();

  async function refresh() {
    const days = period.querySelector("input:checked").value;
    let stats;
    try {
      stats = await api(`/api/admin/stats?days=${days}`);
      replace($("#stats-error", section));
    } catch (error) {
      replace($("#stats-error", section), h("p", { class: "notice error" }, `The statistics couldn't be loaded: ${error.message}`));
      return;
    }
    const { users, revenue, usage } = stats;
    const dates = revenue.daily.map((d) => d.date);
    $("#stat-users", section).textContent = number(users.total);
    $("#stat-new-users", section).textContent = number(users.new_in_window);
    $("#stat-revenue", section).textContent = money(revenue.totals.net_cents, revenue.currency);
    $("#stat-calls", section).textContent = number(usage.totals.calls);
    await Promise.all([
      dailyChart($("#chart-revenue", section), dates, [{ label: "Net revenue (USD)", data: revenue.daily.map((d) => d.net_cents / 100) }]),
      dailyChart($("#chart-new-users", section), dates, [{ label: "New users", data: users.new_daily.map((d) => d.count) }]),
      dailyChart($("#chart-calls", section), dates, [{ label: "Calls", data: usage.daily.map((d) => d.calls) }, { label: "Failed", data: usage.daily.map((d) => d.failed) }]),
      horizontalBarChart($("#chart-admin-models", section), usage.by_model.map((m) => modelName(m.model)), usage.by_model.map((m) => m.credits), "Credits"),
    ]);
  }

  period.addEventListener("change", refresh);
  await refresh();
  return { show: refresh };
}
