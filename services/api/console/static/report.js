// A version for analysts: its validation figures next to every baseline with their intervals, its details, and its
// training report: the Markdown shown as text nodes (never parsed as HTML) with its plots drawn on canvases. The
// Content-Security-Policy lets images load from this origin only, and the plots need the token: each PNG is fetched
// with it, decoded by createImageBitmap and drawn. Uses h(), api(), t() of app.js and words-models.js.
"use strict";
const METRICS = ["roc_auc", "pr_auc", "recall_at_10pct", "precision_at_10pct"];
const FLAT = { model: "", rules: "rules_", income_rank: "income_rank_", logistic: "logistic_" };  // GET /models `metrics`
const PLOT_WORDS = { zh: { "reliability.png": "可靠性（预测概率与实际比例）", "recall_at_budget.png": "各预警预算下的召回率",
  "county_recall.png": "各县召回率（10%预算）" }, en: { "reliability.png": "Reliability", "recall_at_budget.png": "Recall at alert budgets",
  "county_recall.png": "Recall per county (10% budget)" } };

function scorerKey(name) {
  if (name.startsWith("model")) return "model";
  if (name === "rules only") return "rules";
  if (name.startsWith("rank by income")) return "income_rank";
  if (name === "plain logistic regression") return "logistic";
  return name.startsWith("active model") ? "active" : name;
}
function scorerName(name) {
  const key = scorerKey(name);
  return { model: t("this_model"), rules: t("rules_only"), income_rank: t("income_rank"), logistic: t("plain_logistic"),
    active: `${t("active_model")} ${name.slice("active model ".length)}` }[key] || name;
}

// rows of [scorer name, [[value, low, high] | null for each of METRICS]]: the validation record, else the flat metrics
function scorerRows(model) {
  const scorers = (model.validation || {}).scorers;
  if (scorers) return Object.entries(scorers).map(([name, figures]) => [name, METRICS.map((k) => figures[k] || null)]);
  const m = model.metrics || {};
  const names = { model: "model", rules: "rules only", income_rank: "rank by income", logistic: "plain logistic regression" };
  return Object.entries(FLAT).filter(([key, prefix]) => m[`${prefix}roc_auc`] !== undefined || key === "model").map(([key, prefix]) =>
    [names[key], METRICS.map((k) => (m[prefix + k] === undefined ? null
      : key === "model" && k === "roc_auc" && m.roc_auc_low !== undefined ? [m.roc_auc, m.roc_auc_low, m.roc_auc_high] : [m[prefix + k]]))]);
}

function metricsTable(model) {
  const rows = scorerRows(model);
  const cell = (figure, metric) => h("td", { "data-metric": metric }, figure ? fixed(figure[0]) : "—",
    figure && figure.length === 3 ? h("small", { class: "ci" }, `${fixed(figure[1])}–${fixed(figure[2])}`) : null);
  const table = h("table", { class: "board metrics", "data-version": model.version },
    h("thead", {}, h("tr", {}, h("th", {}, t("scorer")), METRICS.map((k) => h("th", {}, t(k))))),
    h("tbody", {}, rows.map(([name, figures]) => h("tr", { "data-scorer": scorerKey(name), class: scorerKey(name) === "model" ? "mine" : null },
      h("td", { title: name }, scorerName(name)), figures.map((f, i) => cell(f, METRICS[i]))))));
  const withIntervals = rows.some(([, figures]) => figures.some((f) => f && f.length === 3));
  const differences = Object.entries((model.validation || {}).roc_auc_model_minus || {});
  const signed = (x) => `${x >= 0 ? "+" : ""}${x.toFixed(3)}`;
  return [h("div", { class: "scroll" }, table), h("small", { class: "muted" }, withIntervals ? t("interval_note") : t("no_intervals")),
    differences.length ? h("p", { class: "differences" }, h("small", {}, `${t("minus_baselines")}${colon()}`,
      differences.map(([name, [low, high]]) => `${scorerName(name)} ${signed(low)} ~ ${signed(high)}`).join(LANG === "zh" ? "；" : "; "))) : null];
}

function versionFacts(model) {
  const rows = [["trained_by", model.trained_by], ["trained_at", when(model.trained_at)], ["data_window", model.data_window],
    ["policy_version", model.policy_version], ["model_kind", model.model_kind], ["horizon", model.horizon_months],
    ["labels_until", model.labels_until], ["features", (model.features || []).map(featureName).join("、")]];
  return h("dl", { class: "facts" }, rows.filter(([, v]) => v !== null && v !== undefined && v !== "").map(([k, v]) => [h("dt", {}, t(k)), h("dd", { "data-fact": k }, v)]));
}

function candidatesList(model) {
  const candidates = Object.entries((model.selection || {}).candidates || {});
  if (!candidates.length) return null;
  return [h("h3", {}, t("candidates")), h("ul", { class: "candidates" }, candidates.map(([name, auc]) =>
    h("li", { class: name === model.selection.best ? "chosen" : null }, `${name}: ${fixed(auc)}`, name === model.selection.best ? h("b", {}, ` · ${t("chosen")}`) : null)))];
}

// one of the report's plots, fetched with the token and drawn on a canvas
function plot(version, name) {
  const canvas = h("canvas", { class: "plot", width: 1, height: 1, role: "img", "aria-label": name, "data-plot": name });
  const figure = h("figure", { class: "plot" }, h("figcaption", {}, (PLOT_WORDS[LANG] || {})[name] || name), canvas);
  api(`/models/${encodeURIComponent(version)}/report/${encodeURIComponent(name)}`).then(async (blob) => {
    const bitmap = await createImageBitmap(blob);
    canvas.width = bitmap.width; canvas.height = bitmap.height;
    canvas.getContext("2d").drawImage(bitmap, 0, 0);
    canvas.dataset.drawn = `${bitmap.width}x${bitmap.height}`;
  }).catch((e) => figure.append(h("p", { class: "error" }, `${name}: ${e.message}`)));
  return figure;
}

// headings, lists, tables, paragraphs and images of the training report's Markdown, as elements of text nodes
function markdown(text, version) {
  const out = [];
  let table = null, list = null;
  for (const line of text.split("\n")) {
    if (line.startsWith("|")) {
      list = null;
      const cells = line.replace(/^\||\|$/g, "").split("|").map((c) => c.trim());
      if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
      if (!table) {
        table = h("table", { class: "board md" }, h("thead", {}, h("tr", {}, cells.map((c) => h("th", {}, c)))), h("tbody", {}));
        out.push(h("div", { class: "scroll" }, table));
      } else table.tBodies[0].append(h("tr", {}, cells.map((c) => h("td", {}, c))));
      continue;
    }
    table = null;
    const image = /^!\[[^\]]*\]\(([^)\s]+)\)$/.exec(line.trim());
    const heading = /^(#{1,4}) (.*)$/.exec(line);
    if (image) out.push(plot(version, image[1]));
    else if (/^[-*] /.test(line)) {
      if (!list) { list = h("ul", { class: "md" }); out.push(list); }
      list.append(h("li", {}, line.slice(2)));
      continue;
    } else if (heading) out.push(h(`h${Math.min(heading[1].length + 2, 5)}`, {}, heading[2]));
    else if (line.trim()) out.push(h("p", {}, line));
    list = null;
  }
  return out;
}

async function reportCard(model) {
  const card = h("section", { class: "card", id: "report" }, h("h2", {}, t("report_title")));
  if (!model.report) { card.append(h("p", { class: "muted" }, t("no_report"))); return card; }
  const text = await (await api(`/models/${encodeURIComponent(model.version)}/report`)).text();
  card.append(h("div", { class: "md" }, markdown(text, model.version)));
  return card;
}
