// Hand-drawn SVG charts: a household's income (alert page); for analysts, PSI by feature and month (a heat map), the
// level mix by month (stacked bars) and calibration by probability band (the confirmed share with its interval next
// to the predicted probability). Uses svg() and t() of app.js and i18n.js, featureName() of words-models.js.
"use strict";
function sv(tag, attrs, ...kids) {  // svg() without the attributes that are null
  return svg(tag, Object.fromEntries(Object.entries(attrs).filter(([, v]) => v !== null && v !== undefined)), ...kids);
}
const monthLabel = (m) => m.slice(2).replace("-", "/");
const psiClass = (v, alarm) => (v === null || v === undefined ? "none" : v > alarm ? "high" : v > 0.1 ? "mid" : "low");

function incomeChart(household) {
  const byMonth = new Map();
  for (const e of household.timeline || []) if (e.kind === "score" && e.per_capita_income !== undefined) byMonth.set((e.event_time || e.at).slice(0, 7), e);
  const known = [...byMonth.keys()].sort(), newest = known.length ? known[known.length - 1] : new Date().toISOString().slice(0, 7);
  const months = [];  // the 12 months ending at the newest score
  for (let i = 11; i >= 0; i--) {
    const d = new Date(Date.UTC(Number(newest.slice(0, 4)), Number(newest.slice(5, 7)) - 1 - i, 1));
    months.push(d.toISOString().slice(0, 7));
  }
  const points = months.map((m) => byMonth.get(m) || null);
  const line = household.figures.monitoring_line;
  const top = Math.max(line, ...points.filter(Boolean).map((p) => p.per_capita_income)) * 1.15 || 1;
  const W = 360, H = 150, L = 44, B = 22, step = (W - L - 20) / 11, y = (v) => H - B - (v / top) * (H - B - 8);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": t("chart") });
  chart.append(svg("line", { x1: L, x2: W - 4, y1: y(line), y2: y(line), class: "limit" }),
    svg("text", { x: W - 6, y: y(line) - 4, "text-anchor": "end", class: "limit-label" }, `${t("line")} ${yuan(line)}`),
    svg("text", { x: L - 4, y: y(top / 1.15) + 4, "text-anchor": "end" }, yuan(Math.round(top / 1.15))),
    svg("text", { x: L - 4, y: H - B + 4, "text-anchor": "end" }, "0"));
  const path = [];
  points.forEach((p, i) => {
    const x = L + i * step;
    if (i % 2 === 1) chart.append(svg("text", { x, y: H - 6, "text-anchor": "middle" }, months[i].slice(2).replace("-", "/")));
    if (!p) return;
    path.push(`${path.length ? "L" : "M"}${x.toFixed(1)},${y(p.per_capita_income).toFixed(1)}`);
    chart.append(svg("circle", { cx: x, cy: y(p.per_capita_income), r: 3, class: p.per_capita_income < line ? "below" : "above" },
      svg("title", {}, `${months[i]}: ${yuan(p.per_capita_income)}`)));
  });
  chart.prepend(svg("path", { d: path.join(" "), class: "income" }));
  return h("figure", {}, h("figcaption", {}, t("chart")), chart);
}

// rows: one county's drift rows; a row per feature (the score first), a column per month, the PSI in each cell (pale
// where the county-month has fewer households than an alarm needs: its PSI is mostly noise)
function psiHeatmap(rows, months, alarm, minHouseholds) {
  const byMonth = new Map(rows.map((r) => [r.month, r]));
  const names = ["score", ...new Set(rows.flatMap((r) => Object.keys(r.feature_psi || {})))];
  const W = 380, L = 134, T = 4, ch = 19, cw = (W - L - 10) / months.length, H = T + names.length * ch + 16;
  const chart = sv("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart heat", role: "img", "aria-label": t("psi_title") });
  names.forEach((name, i) => {
    const y = T + i * ch;
    chart.append(sv("text", { x: L - 4, y: y + ch / 2 + 3, "text-anchor": "end", class: name === "score" ? "strong" : null }, featureName(name)));
    months.forEach((month, j) => {
      const row = byMonth.get(month), x = L + j * cw;
      const value = row ? (name === "score" ? row.score_psi : row.feature_psi[name]) : null;
      const known = value !== null && value !== undefined, few = known && row.households < minHouseholds;
      const level = `${psiClass(value, alarm)}${few ? " few" : ""}`;
      chart.append(sv("rect", { x, y, width: cw - 1, height: ch - 1, class: `cell ${level}`, "data-feature": name, "data-month": month,
        "data-psi": known ? value.toFixed(4) : "" }, svg("title", {}, `${featureName(name)} · ${month} · PSI ${fixed(value)} · ${t("households")} ${row ? count(row.households) : 0}`)));
      if (known) chart.append(sv("text", { x: x + cw / 2 - 0.5, y: y + ch / 2 + 2.5, "text-anchor": "middle", class: `v ${level}` }, value.toFixed(2)));
    });
  });
  months.forEach((month, j) => {
    if ((months.length - 1 - j) % 2 === 0) chart.append(sv("text", { x: L + j * cw + cw / 2, y: H - 4, "text-anchor": "middle" }, monthLabel(month)));
  });
  return chart;
}

// the share of households at each level per month (red at the bottom), their number on top
function levelMixChart(rows, months) {
  const byMonth = new Map(rows.map((r) => [r.month, r]));
  const W = 380, H = 150, L = 34, B = 18, T = 14, cw = (W - L - 2) / months.length, y = (v) => H - B - v * (H - B - T);
  const chart = sv("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart mix", role: "img", "aria-label": t("level_mix") });
  for (const v of [0, 0.5, 1]) {
    chart.append(sv("line", { x1: L, x2: W - 2, y1: y(v), y2: y(v), class: "grid" }),
      sv("text", { x: L - 4, y: y(v) + 3, "text-anchor": "end" }, `${v * 100}%`));
  }
  months.forEach((month, j) => {
    const row = byMonth.get(month), x = L + j * cw + 1;
    if ((months.length - 1 - j) % 2 === 0) chart.append(sv("text", { x: x + cw / 2 - 1, y: H - 4, "text-anchor": "middle" }, monthLabel(month)));
    const levels = row && row.levels;
    const total = levels ? levels.red + levels.yellow + levels.green : 0;
    if (!total) return;
    const bar = sv("g", { class: "bar", "data-month": month, "data-households": total });
    let below = 0;
    for (const level of ["red", "yellow", "green"]) {
      const part = levels[level] / total;
      bar.append(sv("rect", { x, y: y(below + part), width: cw - 3, height: Math.max(0, y(below) - y(below + part)), class: level,
        "data-level": level, "data-count": levels[level] }, svg("title", {}, `${month} · ${t(level)} ${count(levels[level])} (${share(part)})`)));
      below += part;
    }
    bar.append(sv("text", { x: x + cw / 2 - 1.5, y: T - 4, "text-anchor": "middle", class: "n" }, count(total)));
    chart.append(bar);
  });
  return chart;
}

// per band: the confirmed share of decided cases (dot) with its 95 % interval (whisker), the predicted probability
// (diamond); a band whose prediction lies outside its interval is drawn in red
function calibrationChart(bands) {
  const W = 380, H = 180, L = 34, B = 30, T = 8, bw = (W - L - 2) / Math.max(bands.length, 1), y = (v) => H - B - v * (H - B - T);
  const chart = sv("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart calib", role: "img", "aria-label": t("calibration") });
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    chart.append(sv("line", { x1: L, x2: W - 2, y1: y(v), y2: y(v), class: "grid" }),
      sv("text", { x: L - 4, y: y(v) + 3, "text-anchor": "end" }, `${v * 100}%`));
  }
  bands.forEach((band, i) => {
    const cx = L + (i + 0.5) * bw, group = sv("g", { class: `band${band.outside_interval ? " outside" : ""}`, "data-band": band.band });
    const interval = band.confirm_rate_interval;
    if (interval) {
      group.append(sv("line", { x1: cx, x2: cx, y1: y(interval[0]), y2: y(interval[1]), class: "whisker" }),
        ...interval.map((v) => sv("line", { x1: cx - 5, x2: cx + 5, y1: y(v), y2: y(v), class: "whisker" })));
    }
    if (band.confirm_rate !== null) {
      group.append(sv("circle", { cx, cy: y(band.confirm_rate), r: 3.5, class: "rate" },
        svg("title", {}, `${band.band} · ${t("confirm_rate")} ${share(band.confirm_rate)} (${interval.map(share).join("–")})`)));
    }
    const p = y(band.predicted);
    group.append(sv("path", { d: `M${cx + 9},${p - 4} l4,4 l-4,4 l-4,-4 z`, class: "predicted" },
      svg("title", {}, `${band.band} · ${t("predicted")} ${share(band.predicted)}`)));
    group.append(sv("text", { x: cx, y: H - B + 12, "text-anchor": "middle" }, band.band.replace(/0\./g, ".")),
      sv("text", { x: cx, y: H - B + 23, "text-anchor": "middle", class: "n" }, `n=${count(band.confirmed + band.dismissed)}`));
    chart.append(group);
  });
  return chart;
}
