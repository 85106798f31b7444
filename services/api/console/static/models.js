// The analysts' pages (模型): #/models shows the live model's alarms, the registry (who trained each version on what
// data, its validation next to every baseline with intervals, active / in shadow), the shadow report (how many
// households would change level, where) and the live monitoring as charts; #/models/<version> one version with its
// training report and plots, and its own monitoring. Analysts and admins (GET /models and friends refuse others).
// Uses h(), api(), t() of app.js, places.js, charts.js, monitoring.js, report.js, rollout.js, words-models.js.
"use strict";
const badges = (model) => [model.active ? h("span", { class: "badge active" }, t("is_active")) : null,
  model.shadow ? h("span", { class: "badge shadow" }, t("is_shadow")) : null];

async function showModels(version) {
  view().replaceChildren(h("p", { class: "muted" }, t("loading")));
  const list = await api("/models");
  list.items.sort((a, b) => b.trained_at.localeCompare(a.trained_at));
  const optional = (promise) => promise.catch((e) => { if (e.status === 404 || e.status === 409) return null; throw e; });
  MODELS.list = list;
  MODELS.shadow = list.shadow ? await optional(api("/models/shadow/report")) : null;
  return version ? showVersion(list, version) : showRegistry(list, optional);
}

async function showRegistry(list, optional) {
  const found = list.active ? await optional(api("/models/active/monitoring?months=12")) : null;
  const monitoring = found ? monitoringCard(found, `${t("monitoring_of")}${found.model}`)
    : h("section", { class: "card", id: "monitoring" }, h("h2", {}, t("monitoring")), h("p", { class: "muted", id: "no-active" }, t("no_active")));
  view().replaceChildren(...[h("h1", {}, t("models_title"), h("small", {}, ` ${jurisdictionName(S.me.region_code)}`)),
    alarmBanner(found), registryCard(list), shadowCard(list, MODELS.shadow), monitoring].filter(Boolean));
}

function registryCard(list) {
  const card = h("section", { class: "card", id: "registry" },
    h("div", { class: "card-head" }, h("h2", {}, t("registry"), h("small", {}, ` (${list.total})`)), rollbackButton(list)));
  if (!mayRollOut()) card.append(h("p", { class: "muted", id: "national-only" }, t("national_only")));
  if (!list.items.length) card.append(h("p", { class: "muted" }, t("no_models")));
  card.append(...list.items.map((model) => h("article", { class: `version${model.active ? " active" : ""}${model.shadow ? " shadow" : ""}`,
    "data-version": model.version },
  h("h3", {}, h("a", { href: `#/models/${encodeURIComponent(model.version)}` }, model.version), " ", badges(model)),
  h("p", { class: "muted who" }, `${t("trained")}${colon()}${model.trained_by} · ${when(model.trained_at)}${model.policy_version ? ` · ${t("policy_version")} ${model.policy_version}` : ""}`),
  model.model_kind ? h("p", { class: "kind" }, model.model_kind) : null,
  model.data_window ? h("p", { class: "window" }, h("small", {}, `${t("data_window")}${colon()}${model.data_window}`)) : null,
  metricsTable(model),
  h("div", { class: "links" }, h("a", { href: `#/models/${encodeURIComponent(model.version)}`, class: "report-link" }, `${t("report")} →`),
    versionActions(model)))));
  return card;
}

function shadowCard(list, report) {
  const card = h("section", { class: "card", id: "shadow" }, h("h2", {}, t("shadow_report"), list.shadow ? h("small", {}, ` · ${list.shadow}`) : null));
  if (!list.shadow || !report || !report.households) {
    card.append(h("p", { class: "muted" }, t(list.shadow ? "shadow_none_yet" : "no_shadow")));
    return card;
  }
  const tile = (label, n, cls) => h("div", { class: `tile ${cls || ""}`, "data-figure": label }, h("b", {}, n), h("span", {}, t(label)));
  if (report.region) card.append(h("h3", {}, t("whole_country")));  // the counties below: the caller's only
  card.append(h("div", { class: "tiles small" }, tile("compared", count(report.households)), tile("agreement", share(report.agreement)),
    tile("alerts_active", count(report.alerts_active)), tile("alerts_candidate", count(report.alerts_candidate), "red"),
    tile("candidate_only", count(report.candidate_only)), tile("active_only", count(report.active_only))));
  const cols = ["county", "households", "changed", "to_red", "to_yellow", "to_green"];
  card.append(h("h3", {}, t("where"), report.region ? h("small", {}, ` · ${jurisdictionName(report.region)}`) : null), h("div", { class: "scroll" }, h("table", { class: "board", id: "shadow-counties" },
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, t(c))))),
    h("tbody", {}, report.by_county.map((c) => h("tr", { "data-county": c.county },
      h("td", {}, placeLabel(c.county, c.county_name)), h("td", {}, count(c.households)), h("td", {}, count(c.changed)),
      h("td", { class: c.to_red ? "flag-red" : null }, count(c.to_red)), h("td", {}, count(c.to_yellow)), h("td", {}, count(c.to_green))))))));
  return card;
}

async function showVersion(list, version) {
  const model = list.items.find((m) => m.version === version);
  if (!model) { const e = new Error(`${t("not_found")}: ${version}`); e.status = 404; throw e; }
  const back = h("a", { href: "#/models", class: "back" }, `← ${t("models_title")}`);
  const monitoring = h("section", { class: "card", id: "monitoring" }, h("h2", {}, t("monitoring")), h("p", { class: "muted" }, t("loading")));
  const alarms = h("div", { id: "version-alarms" });
  view().replaceChildren(back, h("h1", {}, version, " ", badges(model)), alarms,
    h("section", { class: "card", id: "version" }, versionFacts(model), versionActions(model)),
    h("section", { class: "card" }, h("h2", {}, t("metrics")), metricsTable(model), candidatesList(model)),
    h("section", { class: "card", id: "report" }, h("p", { class: "muted" }, t("loading"))), monitoring);
  const [report, found] = await Promise.all([reportCard(model),
    api(`/models/${encodeURIComponent(version)}/monitoring?months=12`).catch((e) => { if (e.message === "401") throw e; return e; })]);
  if (!view().contains(monitoring)) return;  // the analyst went elsewhere meanwhile
  document.getElementById("report").replaceWith(report);
  if (found instanceof Error) monitoring.replaceChildren(h("h2", {}, t("monitoring")), h("p", { class: "muted" }, found.message));
  else {
    alarms.replaceChildren(alarmBanner(found) || "");
    monitoring.replaceWith(monitoringCard(found, `${t("monitoring_of")}${version}`));
  }
}
