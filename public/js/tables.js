// Tables of rows: a plain one, and one that pages through a list route's answers.

import { h, replace } from "./dom.js";

// columns: [{label, cell(row) -> node|string, num?}]
export function dataTable({ columns, rows, label }) {
  return h("div", { class: "table-wrap" }, h("table", {},
    h("caption", { class: "visually-hidden" }, label),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, columns.map((c) => h("td", { class: c.num ? "num" : null }, c.cell(row))))))));
}

// load(page) -> {rows, page, pages, total}; empty: what to show when there is nothing.
export function pagedTable({ columns, load, empty, label }) {
  const element = h("div", { class: "paged-table", "aria-live": "polite" });
  let page = 1;
  let latest = 0; // filters changed quickly send several loads; only the newest may draw

  async function render() {
    const ticket = ++latest;
    element.setAttribute("aria-busy", "true");
    if (!element.firstChild) replace(element, h("p", { class: "loading-block" }, "Loading…"));
    try {
      const result = await load(page);
      if (ticket !== latest) return;
      page = result.page;
      if (!result.total) {
        replace(element, h("div", { class: "empty" }, empty));
        return;
      }
      const pager = h("nav", { class: "pager", "aria-label": `${label} pages` },
        h("span", { class: "muted small" }, result.pages > 1 ? `Page ${result.page} of ${result.pages} · ${result.total} in all` : `${result.total} in all`),
        result.pages > 1 ? [
          h("button", { type: "button", class: "small", disabled: result.page <= 1, onclick: () => go(result.page - 1) }, "Previous"),
          h("button", { type: "button", class: "small", disabled: result.page >= result.pages, onclick: () => go(result.page + 1) }, "Next"),
        ] : null);
      replace(element, dataTable({ columns, rows: result.rows, label }), pager);
    } catch (error) {
      if (ticket === latest) replace(element, h("p", { class: "notice error" }, `This list couldn't be loaded: ${error.message}`));
    } finally {
      if (ticket === latest) element.removeAttribute("aria-busy");
    }
  }

  function go(target) {
    page = target;
    return render();
  }

  return { element, reload: (first = false) => go(first ? 1 : page) };
}
