// The 动态清零 board: open and overdue cases per township (GET /stats), by name, and each township's ledger CSV; the
// cases by risk type as a chart. Uses h(), api(), t(), when(), flash() of app.js, places.js and risks.js.
"use strict";
async function download(township) {
  const blob = await api(`/ledger.csv?${new URLSearchParams({ township, lang: LANG })}`);
  const a = h("a", { href: URL.createObjectURL(blob), download: `ledger-${township}.csv` });
  document.body.append(a); a.click(); a.remove();
}
async function showBoard() {
  const s = await api("/stats");
  await places([s.region_code, ...s.by_township.map((r) => r.township)]);
  const tile = (label, n, cls) => h("div", { class: `tile ${cls || ""}` }, h("b", {}, n), h("span", {}, t(label)));
  const cols = ["township", "open_cases", "overdue", "red", "yellow", "top_risks", "total", "export"];
  const table = h("table", { class: "board", id: "board" }, h("thead", {}, h("tr", {}, cols.map((c) => h("th", { class: c === "total" ? "opt" : null }, t(c))))),
    h("tbody", {}, s.by_township.map((r) => h("tr", { class: r.overdue ? "overdue" : null, "data-township": r.township },
      h("td", {}, placeLabel(r.township)), h("td", {}, r.open), h("td", { class: r.overdue ? "flag" : null }, r.overdue), h("td", {}, r.red),
      h("td", {}, r.yellow), h("td", { class: "risks-cell" }, topRisks(r.by_risk_type)), h("td", { class: "opt" }, r.total),
      h("td", {}, h("button", { type: "button", class: "link", onclick: () => download(r.township).catch((e) => flash(e.message)) }, "CSV"))))));
  view().replaceChildren(h("h1", {}, t("board_title"), h("small", {}, ` ${jurisdictionName(s.region_code)} · ${when(s.generated_at)}`)),
    h("div", { class: "tiles" }, tile("open_cases", s.open), tile("overdue", s.overdue, "flag"), tile("red", s.by_level.red || 0, "red"),
      tile("yellow", s.by_level.yellow || 0, "yellow")),
    h("section", { class: "card" }, riskChart(s.by_risk_type || {})),
    h("div", { class: "scroll" }, table),
    h("h2", {}, t("by_status")),
    h("div", { class: "tiles small" }, Object.entries(s.by_status).map(([k, n]) => tile(k, n))));
}

