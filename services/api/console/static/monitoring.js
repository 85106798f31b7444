// The live monitoring of a model version (GET /models/active/monitoring, /models/{version}/monitoring) as pictures:
// drift alarms first and prominently, then per county PSI by feature and month, the level mix, who raised the
// households, and the field verdicts by probability band next to the model's predictions.
// Uses h(), t() of app.js, the charts of charts.js and the words of words-models.js.
"use strict";
const countyName = (found, code) => (found.drift.find((r) => r.county === code) || {}).county_name || code;

function alarmText(found, alarm) {
  if (alarm.kind === "drift") {
    return `${t("drift_alarm")} · ${countyName(found, alarm.county)} ${alarm.month} · ${featureName(alarm.on)} PSI ${alarm.psi.toFixed(2)} > ${found.thresholds.psi_alarm}`;
  }
  const [low, high] = alarm.confirm_rate_interval;
  return `${t("calibration_alarm")} · ${t("band")} ${alarm.band} · ${t("predicted")} ${share(alarm.predicted)}${comma()}${t("confirm_rate")} ${share(low)}–${share(high)}`;
}

// the alarms of a monitoring answer, in a red box (nothing when there is none)
function alarmBanner(found) {
  const alarms = (found && found.alarms) || [];
  if (!alarms.length) return null;
  const shown = alarms.slice(0, 8);
  return h("div", { class: "alarm", id: "alarms", role: "alert" },
    h("b", {}, `⚠ ${t("alarms")} · ${found.model} (${count(alarms.length)})`),
    h("ul", {}, shown.map((a) => h("li", { "data-kind": a.kind, "data-county": a.county || null, "data-on": a.on || a.band }, alarmText(found, a)))),
    alarms.length > shown.length ? h("small", {}, `… +${count(alarms.length - shown.length)}`) : null);
}

// the county whose charts show first: one with an alarm, else the one with the most households in its newest month
function firstCounty(found) {
  const alarmed = found.alarms.find((a) => a.kind === "drift");
  if (alarmed) return alarmed.county;
  const newest = [...found.drift].sort((a, b) => b.month.localeCompare(a.month) || b.households - a.households)[0];
  return newest ? newest.county : null;
}

function monitoringCard(found, title) {
  const card = h("section", { class: "card", id: "monitoring", "data-model": found.model },
    h("h2", {}, title, h("small", {}, ` · ${tf("months_n", found.months.length)}`)));
  if (found.note) card.append(h("p", { class: "notice" }, found.note));
  if (!found.alarms.length) card.append(h("p", { class: "muted", id: "no-alarm" }, t("no_alarm")));
  const counties = [...new Set(found.drift.map((r) => r.county))].sort();
  if (!counties.length) card.append(h("p", { class: "muted" }, t("no_drift")));
  else {
    const alarmed = new Set(found.alarms.filter((a) => a.kind === "drift").map((a) => a.county));
    const picker = h("select", { id: "county", name: "county" }, counties.map((c) => h("option", { value: c, selected: c === firstCounty(found) },
      `${countyName(found, c)} (${c})${alarmed.has(c) ? " ⚠" : ""}`)));
    const charts = h("div", { id: "county-charts" });
    const draw = () => charts.replaceChildren(...countyCharts(found, picker.value));
    picker.addEventListener("change", draw);
    draw();
    card.append(h("label", { class: "filter" }, h("span", {}, t("county")), picker), charts);
  }
  card.append(...calibrationPart(found));
  return card;
}

function countyCharts(found, county) {
  const rows = found.drift.filter((r) => r.county === county);
  const newest = rows.reduce((a, b) => (!a || b.month > a.month ? b : a), null);
  const out = [h("figure", { id: "psi" }, h("figcaption", {}, `${t("psi_title")} · ${countyName(found, county)}`),
    psiHeatmap(rows, found.months, found.thresholds.psi_alarm, found.thresholds.min_households),
    h("small", { class: "legend" }, h("i", { class: "key low" }), "< 0.10 ", h("i", { class: "key mid" }), `0.10–${found.thresholds.psi_alarm} `,
      h("i", { class: "key high" }), `> ${found.thresholds.psi_alarm} `, h("i", { class: "key high few" }),
      tf("psi_few", found.thresholds.min_households), ` · ${tf("psi_hint", found.thresholds.psi_alarm, found.thresholds.min_households)}`))];
  if (rows.some((r) => r.levels)) {
    out.push(h("figure", { id: "level-mix" }, h("figcaption", {}, `${t("level_mix")} · ${countyName(found, county)}`),
      levelMixChart(rows, found.months),
      h("small", { class: "legend" }, ["red", "yellow", "green"].map((l) => [h("i", { class: `key ${l}` }), `${t(l)} `]))));
  }
  if (newest && newest.raised_by) {
    const r = newest.raised_by;
    out.push(h("p", { class: "muted", id: "raised-by" }, tf("raised_month", newest.month, r.model_only, r.rules_only, r.both)));
  }
  return out;
}

function calibrationPart(found) {
  const { bands, recall_of_confirmed: recall } = found.calibration;
  const title = h("h3", {}, t("calibration"));
  if (!bands.length) return [title, h("p", { class: "muted" }, t("no_verdicts"))];
  const cols = ["band", "confirmed", "dismissed", "open_past", "still_open", "confirm_rate", "predicted"];
  const table = h("table", { class: "board calib", id: "calibration" }, h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, t(c))))),
    h("tbody", {}, bands.map((b) => h("tr", { "data-band": b.band, class: b.outside_interval ? "alarmed" : null },
      h("td", {}, b.band), h("td", {}, count(b.confirmed)), h("td", {}, count(b.dismissed)), h("td", {}, count(b.overdue)),
      h("td", {}, count(b.open)),
      h("td", {}, share(b.confirm_rate), b.confirm_rate_interval ? h("small", { class: "ci" }, ` (${b.confirm_rate_interval.map(share).join("–")})`) : null),
      h("td", {}, share(b.predicted))))));
  return [title, h("figure", { id: "calibration-chart" }, calibrationChart(bands),
    h("small", { class: "legend" }, t("calibration_hint"))), h("div", { class: "scroll" }, table),
  recall.confirmed ? h("p", { id: "recall" }, tf("recall_confirmed", recall.confirmed, share(recall.by_model), share(recall.by_rules), share(recall.by_model_only)))
    : h("p", { class: "muted" }, t("no_verdicts"))];
}
