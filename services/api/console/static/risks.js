// Risk types (风险类型): a case's causes with the evidence behind them, the worker's and the county's picker, measures
// matched to the causes first, and the board's chart of cases by cause. Uses h(), field(), t(), when() of app.js and
// sv() of charts.js.
"use strict";
const RISK_TYPES = ["illness", "disability", "education", "disaster", "accident", "business_failure",
  "unstable_employment", "unstable_income", "other"];
const MEASURES = ["industry", "employment", "medical_assistance", "minimum_living_allowance", "extreme_poverty_support",
  "temporary_relief", "education_aid", "housing", "critical_illness_insurance", "chronic_disease_contract",
  "disability_allowance", "disaster_relief", "agricultural_insurance_claim", "public_welfare_job",
  "microcredit_extension", "other"];
Object.assign(WORDS.zh, {
  risk_types: "风险类型", rt_illness: "因病", rt_disability: "因残", rt_education: "因学", rt_disaster: "因灾",
  rt_accident: "因意外事故/突发事件", rt_business_failure: "因产业失败", rt_unstable_employment: "因就业不稳",
  rt_unstable_income: "因收入不稳定", rt_other: "其他", main_risk: "主要风险类型", more_risks: "其他风险类型",
  rt_proposed: "系统根据证据建议，待入户核实", rt_home_visit: "入户核实", rt_confirmation: "县级认定",
  rt_corrected: "已更正", rt_confirmed: "已确认", no_risk_types: "尚无风险类型", matching: "与风险类型匹配的措施",
  other_measures: "其他措施", by_risk_type: "按风险类型", open_by_risk: "未清零", confirmed_by_risk: "已认定",
  overdue_by_risk: "逾期", top_risks: "主要风险类型", ch_risk_types_corrected: "更正风险类型",
  ch_risk_types_confirmed: "确认风险类型", critical_illness_insurance: "大病保险", chronic_disease_contract: "慢病签约服务",
  disability_allowance: "残疾人两项补贴", disaster_relief: "救灾救助", agricultural_insurance_claim: "农业保险理赔",
  public_welfare_job: "公益岗位", microcredit_extension: "小额信贷展期", schooling_out_of_pocket_12m: "近12个月教育支出自付",
});
Object.assign(WORDS.en, {
  risk_types: "Risk types", rt_illness: "illness", rt_disability: "disability", rt_education: "education",
  rt_disaster: "disaster", rt_accident: "accident or sudden event", rt_business_failure: "failed business",
  rt_unstable_employment: "unstable employment", rt_unstable_income: "unstable income", rt_other: "other",
  main_risk: "Main risk type", more_risks: "Other risk types", rt_proposed: "proposed from the evidence, to verify at the visit",
  rt_home_visit: "home visit", rt_confirmation: "county confirmation", rt_corrected: "corrected", rt_confirmed: "confirmed",
  no_risk_types: "No risk types yet", matching: "Measures matching the risk types", other_measures: "Other measures",
  by_risk_type: "By risk type", open_by_risk: "open", confirmed_by_risk: "confirmed", overdue_by_risk: "overdue",
  top_risks: "Main risk types", ch_risk_types_corrected: "risk types corrected", ch_risk_types_confirmed: "risk types confirmed",
  critical_illness_insurance: "critical illness insurance", chronic_disease_contract: "chronic disease care contract",
  disability_allowance: "disability allowances", disaster_relief: "disaster relief",
  agricultural_insurance_claim: "agricultural insurance claim", public_welfare_job: "public welfare job",
  microcredit_extension: "microcredit extension", schooling_out_of_pocket_12m: "Schooling costs, 12 months",
});
const riskName = (type) => t(`rt_${type}`);
const riskList = (types) => (types || []).map(riskName).join(LANG === "zh" ? "、" : ", ");

// The case's risk types, main first, each with the evidence that proposed it, and who set them.
function riskTypes(alert) {
  const types = alert.risk_types || [];
  if (!types.length) return h("p", { class: "muted", id: "risk-types" }, t("no_risk_types"));
  const review = alert.risk_types_review;
  const who = review ? `${t(`rt_${review.step}`)} · ${review.by} · ${t(review.corrected ? "rt_corrected" : "rt_confirmed")} · ${when(review.at)}`
    : t("rt_proposed");
  const evidence = (type) => (alert.risk_type_proposals || []).filter((p) => p.risk_type === type).map((p) => p[`message_${LANG}`]);
  return h("div", { id: "risk-types" },
    h("ul", { class: "risks" }, types.map((type, i) => h("li", { "data-risk": type },
      h("span", { class: `chip${i === 0 ? " main" : ""}` }, riskName(type)),
      evidence(type).length ? h("small", { class: "muted" }, ` ${evidence(type).join("；")}`) : null))),
    h("p", { class: "muted small", id: "risk-set-by" }, who));
}

// The picker of the visit and confirmation forms: the main type, then the others (pre-set as the case has them).
function riskPicker(alert) {
  const types = alert.risk_types || [];
  return h("fieldset", { class: "risk-picker" }, h("legend", {}, t("risk_types")),
    field("main_risk", h("select", { name: "main_risk" }, RISK_TYPES.map((v) => h("option", { value: v, selected: v === types[0] }, riskName(v))))),
    h("div", { class: "checks" }, h("span", { class: "muted" }, t("more_risks")), RISK_TYPES.map((v) => h("label", { class: "check" },
      h("input", { type: "checkbox", name: "risk_type", value: v, checked: types.slice(1).includes(v) }), h("span", {}, riskName(v))))));
}
function pickedRisks(form) {
  const main = form.elements.main_risk.value;
  const more = [...form.querySelectorAll("input[name=risk_type]:checked")].map((el) => el.value).filter((v) => v !== main);
  return [main, ...more];
}

// The measure types, those answering the case's risk types first (its region's policy: matching_measures).
function measureOptions(alert) {
  const matching = [...new Set(Object.values(alert.matching_measures || {}).flat())];
  const rest = MEASURES.filter((m) => !matching.includes(m));
  const option = (m, i) => h("option", { value: m, selected: i === 0 }, t(m));
  return matching.length
    ? [h("optgroup", { label: t("matching") }, matching.map(option)), h("optgroup", { label: t("other_measures") }, rest.map((m) => option(m, 1)))]
    : MEASURES.map(option);
}

// The board's chart: per risk type, open cases as a bar, its confirmed part darker, overdue ones named in orange.
function riskChart(byRisk) {
  const rows = RISK_TYPES.map((type) => [type, byRisk[type] || { open: 0, confirmed: 0, overdue: 0 }]);
  const top = Math.max(1, ...rows.map(([, c]) => c.open));
  const W = 360, L = 118, R = 64, row = 22, width = (n) => ((W - L - R) * n) / top;
  const chart = sv("svg", { viewBox: `0 0 ${W} ${rows.length * row + 4}`, class: "chart risks-chart", id: "risk-chart",
    role: "img", "aria-label": t("by_risk_type") });
  rows.forEach(([type, c], i) => {
    const y = i * row + 4;
    chart.append(sv("text", { x: L - 6, y: y + 13, "text-anchor": "end", class: "label" }, riskName(type)),
      sv("rect", { x: L, y, width: width(c.open), height: row - 6, class: "open", "data-risk": type, "data-open": c.open }),
      sv("rect", { x: L, y, width: width(c.confirmed), height: row - 6, class: "confirmed" }),
      sv("text", { x: L + width(c.open) + 4, y: y + 13, class: c.overdue ? "late" : null }, `${c.open}${c.overdue ? ` (${t("overdue_by_risk")} ${c.overdue})` : ""}`),
      sv("title", {}, `${riskName(type)}: ${t("open_by_risk")} ${c.open}, ${t("confirmed_by_risk")} ${c.confirmed}, ${t("overdue_by_risk")} ${c.overdue}`));
  });
  const key = h("p", { class: "legend" }, h("span", { class: "swatch open" }), ` ${t("open_by_risk")} `,
    h("span", { class: "swatch confirmed" }), ` ${t("confirmed_by_risk")} `, h("span", { class: "late" }, t("overdue_by_risk")));
  return h("figure", {}, h("figcaption", {}, t("by_risk_type")), chart, key);
}
// A township's main risk types on the board: the two with the most open cases.
const topRisks = (byRisk) => Object.entries(byRisk || {}).filter(([, c]) => c.open).sort((a, b) => b[1].open - a[1].open)
  .slice(0, 2).map(([type, c]) => `${riskName(type)} ${c.open}`).join(" · ");
