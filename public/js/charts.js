// Charts through the vendored Chart.js, loaded on first use and styled to match the site.

const COLORS = ["#3b32b8", "#0fa3b1", "#f58231", "#3cb44b", "#e6194b", "#911eb4", "#9a6324", "#4363d8"];
let loading = null;

function loadChartJs() {
  loading ||= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/vendor/chartjs/chart.umd.min.js";
    script.onload = () => resolve(window.Chart);
    script.onerror = () => reject(new Error("The chart library couldn't be loaded."));
    document.head.append(script);
  });
  return loading;
}

export function color(i) {
  return COLORS[i % COLORS.length];
}

// Draw (or redraw) a chart on a canvas; config is Chart.js's {type, data, options}.
async function drawChart(canvas, config) {
  const Chart = await loadChartJs();
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#545d6b";
  Chart.getChart(canvas)?.destroy();
  return new Chart(canvas, {
    ...config,
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      ...config.options,
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } }, ...config.options?.plugins },
    },
  });
}

// A bar chart of daily values: series = [{label, data, axis?}], axis "right" for a second scale.
export function dailyChart(canvas, days, series) {
  const twoAxes = series.some((s) => s.axis === "right");
  return drawChart(canvas, {
    type: "bar",
    data: {
      labels: days.map((d) => d.slice(5)),
      datasets: series.map((s, i) => ({ label: s.label, data: s.data, backgroundColor: color(i), yAxisID: s.axis === "right" ? "y1" : "y", borderRadius: 3, maxBarThickness: 24 })),
    },
    options: {
      scales: {
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 10 } },
        y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: twoAxes, text: series[0].label } },
        ...(twoAxes ? { y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, ticks: { precision: 0 }, title: { display: true, text: series.find((s) => s.axis === "right").label } } } : {}),
      },
    },
  });
}

export function doughnutChart(canvas, labels, data) {
  return drawChart(canvas, {
    type: "doughnut",
    data: { labels, datasets: [{ data, backgroundColor: labels.map((_, i) => color(i)), borderWidth: 1 }] },
    options: { plugins: { legend: { position: "right" } } },
  });
}

export function horizontalBarChart(canvas, labels, data, label) {
  return drawChart(canvas, {
    type: "bar",
    data: { labels, datasets: [{ label, data, backgroundColor: color(0), borderRadius: 3, maxBarThickness: 28 }] },
    options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { grid: { display: false } } } },
  });
}
