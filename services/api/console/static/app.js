// The console: login, inbox, alert detail with actions, county board, live updates. Vanilla JS, no build step.
"use strict";
const OPEN = ["open", "verifying", "reviewing", "confirmed", "assisting"];
const SSE_KINDS = ["raised", "reopened", "evidence_added", "escalated", "measure_added", "reminder:home_visit",
  "reminder:decision", "overdue:home_visit", "overdue:decision", ...OPEN, "dismissed", "resolved"];
const S = { token: sessionStorage.getItem("shouwang.token"), refresh: sessionStorage.getItem("shouwang.refresh"),
  me: null, stream: null, timer: null, reload: null, shown: null };

// ---- DOM helpers (text always goes in as text nodes: nothing from the API is parsed as HTML)
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v); else el.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat(Infinity)) if (kid !== null && kid !== undefined) el.append(kid instanceof Node ? kid : String(kid));
  return el;
}
function svg(tag, attrs, ...kids) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const kid of kids) el.append(kid);
  return el;
}
const view = () => document.getElementById("view");
function flash(message, kind) {
  const box = document.getElementById("flash");
  box.textContent = message; box.className = kind || "error"; box.hidden = false;
  clearTimeout(flash.timer); flash.timer = setTimeout(() => { box.hidden = true; }, 6000);
}
function when(iso) {
  if (!iso) return "";
  const d = new Date(iso), p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
const yuan = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString(LANG === "zh" ? "zh-CN" : "en", { maximumFractionDigits: 2 }));
const isOverdue = (a) => a.overdue || (OPEN.includes(a.status) && (a.deadlines || []).some(
  (d) => new Date(d.due_at) <= new Date() && (d.name === "decision" ? ["open", "verifying", "reviewing"].includes(a.status) : !a.visit && ["open", "verifying"].includes(a.status))));
function detail(body) {
  const d = body && body.detail;
  if (typeof d === "string") return d;
  if (Array.isArray(d)) return d.map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`).join("; ");
  if (d && d.message) return d.message;
  return JSON.stringify(body);
}

// ---- API with refresh on 401
function saveTokens(pair) {
  S.token = pair.access_token; S.refresh = pair.refresh_token;
  sessionStorage.setItem("shouwang.token", S.token); sessionStorage.setItem("shouwang.refresh", S.refresh);
  clearTimeout(S.timer);
  S.timer = setTimeout(refreshTokens, Math.max(30, pair.expires_in - 60) * 1000);
}
async function refreshTokens() {
  if (!S.refresh) return false;
  const r = await fetch("/auth/refresh", { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: S.refresh }) });
  if (!r.ok) return false;
  saveTokens(await r.json());
  if (S.stream) startStream();
  return true;
}
async function api(path, options, retried) {
  const opts = { ...(options || {}) };
  opts.headers = { ...(opts.headers || {}), authorization: `Bearer ${S.token}` };
  if (opts.json !== undefined) { opts.body = JSON.stringify(opts.json); opts.headers["content-type"] = "application/json"; }
  const r = await fetch(path, opts);
  if (r.status === 401 && !retried && await refreshTokens()) return api(path, options, true);
  if (r.status === 401) { logout(t("session_ended")); throw new Error("401"); }
  const isJson = (r.headers.get("content-type") || "").includes("json");
  const body = isJson ? await r.json() : await r.blob();
  if (!r.ok) { const e = new Error(detail(body)); e.status = r.status; throw e; }
  return body;
}

// ---- login and session
async function login(event) {
  event.preventDefault();
  const form = event.target, error = document.getElementById("login-error");
  const r = await fetch("/auth/token", { method: "POST", body: new URLSearchParams(new FormData(form)) });
  const body = await r.json();
  if (!r.ok) { error.textContent = r.status === 401 ? t("bad_login") : detail(body); error.hidden = false; return; }
  error.hidden = true; form.reset();
  saveTokens(body);
  await start();
}
function logout(message) {
  if (S.refresh) fetch("/auth/logout", { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: S.refresh }) });
  sessionStorage.clear(); S.token = S.refresh = S.me = null;
  if (S.stream) { S.stream.close(); S.stream = null; }
  clearTimeout(S.timer);
  showLogin();
  if (message) flash(message);
}
function showLogin() {
  document.getElementById("login").hidden = false;
  for (const id of ["nav", "logout", "live"]) document.getElementById(id).hidden = true;
  document.getElementById("who").textContent = "";
  view().replaceChildren();
}
async function start() {
  S.me = await api("/users/me");
  document.getElementById("login").hidden = true;
  document.getElementById("nav").hidden = false;
  document.getElementById("logout").hidden = false;
  document.getElementById("nav-users").hidden = S.me.role !== "admin";
  document.getElementById("nav-models").hidden = !["analyst", "admin"].includes(S.me.role);
  document.getElementById("nav-inbox").hidden = !readsCases();  // an analyst reads cases only when granted
  if (!readsCases() && !location.hash) history.replaceState(null, "", "#/models");
  document.querySelector(".brand").setAttribute("href", readsCases() ? "#/inbox" : "#/models");
  await places([S.me.region_code]).catch(() => null);
  const who = document.getElementById("who");
  who.textContent = `${S.me.username} · ${jurisdictionName(S.me.region_code)}`;
  who.title = S.me.region_code || "*";
  if (readsCases()) startStream();
  route();
}

// ---- live updates: Server-Sent Events (token as query parameter, since EventSource sends no headers)
function startStream() {
  if (S.stream) S.stream.close();
  const live = document.getElementById("live");
  const stream = new EventSource(`/alerts/stream?access_token=${encodeURIComponent(S.token)}`);
  S.stream = stream;
  stream.onopen = () => { live.hidden = false; live.classList.add("on"); };
  stream.onerror = () => {
    live.classList.remove("on");
    if (stream.readyState === EventSource.CLOSED && S.stream === stream) setTimeout(() => refreshTokens(), 5000);
  };
  const changed = (e) => {
    const change = JSON.parse(e.data);
    live.dataset.lastChange = change.change_id; live.title = `${t("live")} · ${when(change.at)}`;
    const onAlert = location.hash.startsWith("#/alert/");
    if (onAlert && !location.hash.endsWith(change.alert_id)) return;
    clearTimeout(S.reload);
    S.reload = setTimeout(() => {
      // the open alert: ignore the echo of what is shown, and never wipe a half-filled form
      if (!onAlert) { if (!typingInView() && !onModels()) route(); }
      else if (!S.shown || change.version > S.shown.version) (typing() ? changedUnderneath(change) : route());
    }, 400);
  };
  for (const kind of SSE_KINDS) stream.addEventListener(kind, changed);
}

// ---- a live change to the alert the worker is filling in: keep what they typed and say so
const readsCases = () => S.me.role !== "analyst" || S.me.case_access;
const onModels = () => location.hash.startsWith("#/models");  // not redrawn under an analyst reading or confirming
const typingInView = () => view().contains(document.activeElement) && document.activeElement.tagName === "INPUT";
function typing() {
  return [...document.querySelectorAll("#actions form")].some((form) => [...form.elements].some((el) =>
    el.type === "checkbox" ? el.checked !== el.defaultChecked
      : el.tagName === "SELECT" ? [...el.options].some((o) => o.selected !== o.defaultSelected)
        : el.tagName === "INPUT" && el.value !== el.defaultValue));
}
function changedUnderneath(change) {
  document.querySelectorAll("#actions form button[type=submit]").forEach((b) => { b.disabled = true; });
  const notice = document.getElementById("stale") || h("p", { id: "stale", class: "notice" });
  notice.replaceChildren(`${t("changed_underneath")} (${t(change.status)} · ${change.by}) `,
    h("button", { type: "button", class: "link", onclick: route }, t("reload")));
  document.querySelector("#actions h2").after(notice);
}

// ---- views
function route() {
  if (!S.me) return;
  S.shown = null;
  const [, name, arg] = (location.hash || "#/inbox").split("/");
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.getAttribute("href") === `#/${name}`));
  const show = { alert: () => showAlert(decodeURIComponent(arg)), board: showBoard, users: showUsers,
    models: () => showModels(arg ? decodeURIComponent(arg) : null) }[name]
    || (() => showInbox(/^\d{2,12}$/.test(arg || "") ? arg : null));
  show().catch((e) => {
    if (e.message === "401") return;
    flash(e.message);
    const word = { 403: "forbidden", 404: "not_found" }[e.status];
    if (word) view().replaceChildren(h("a", { href: "#/inbox", class: "back" }, `← ${t("back")}`), h("p", { class: "error", id: "refused" }, t(word)));
  });
}
async function allAlerts(params) {
  const items = [];
  for (let offset = 0; offset < 5000; offset += 500) {
    const page = await api(`/alerts?${new URLSearchParams({ ...params, limit: 500, offset })}`);
    items.push(...page.items);
    if (items.length >= page.total || !page.items.length) break;
  }
  return items;
}
const levelBadge = (level) => h("span", { class: `badge ${level}` }, t(level));

async function showInbox(region) {
  const alerts = (await allAlerts(region ? { region_code: region } : {})).filter((a) => OPEN.includes(a.status));
  if (region) await places([region]);
  alerts.sort((a, b) => (a.level === b.level ? 0 : a.level === "red" ? -1 : 1) || a.due_at.localeCompare(b.due_at) || a.id.localeCompare(b.id));
  const rows = alerts.map((a) => h("a", { class: `item ${a.level}${isOverdue(a) ? " overdue" : ""}`, href: `#/alert/${a.id}`,
    "data-alert": a.id, "data-household": a.household_id },
  levelBadge(a.level),
  h("span", { class: "hh" }, a.household_id, " ", placeLabel(a.region_code, a.region_name)),
  h("span", { class: "why" }, (a.risk_types || [])[0] ? h("span", { class: "chip main" }, riskName(a.risk_types[0])) : null,
    (a.reasons[0] || {})[`message_${LANG}`] || ""),
  h("span", { class: "st" }, t(a.status)),
  h("span", { class: "due" }, isOverdue(a) ? h("b", { class: "flag" }, t("overdue")) : null, when(a.due_at))));
  const filter = h("form", { class: "filter", id: "region-filter" }, h("label", {}, h("span", {}, t("region")),
    regionPicker({ name: "region_code", value: region ? PLACES.get(region) : null,
      onPick: (place) => { location.hash = `#/inbox/${place.code}`; },
      onClear: () => { if (region) location.hash = "#/inbox"; } })));
  filter.addEventListener("submit", (event) => {
    event.preventDefault();
    const code = filter.elements.region_code.value;
    if (code) location.hash = `#/inbox/${code}`;
  });
  view().replaceChildren(h("h1", {}, t("my_inbox"), h("small", {}, ` (${alerts.length})`)), filter,
    rows.length ? h("div", { class: "list", id: "inbox" }, rows) : h("p", { class: "muted" }, t("empty")));
}

function figures(household) {
  const f = household.figures;
  const keys = ["members", "labourers", "income_12m", "per_capita_income", "monitoring_line", "medical_out_of_pocket_12m", "per_capita_after_rigid_spending"];
  if (f.schooling_out_of_pocket_12m) keys.splice(6, 0, "schooling_out_of_pocket_12m");  // 因学: only where there are some
  return h("dl", { class: "figures" }, keys.filter((k) => f[k] !== undefined && f[k] !== null).map((k) =>
    [h("dt", {}, t(k)), h("dd", { class: k === "per_capita_income" && f[k] < f.monitoring_line ? "below" : null },
      ["members", "labourers"].includes(k) ? f[k] : yuan(f[k]))]));
}

const changeName = (change) => { const word = t(`ch_${change}`); return word === `ch_${change}` ? t(change) : word; };
function timeline(alert, household) {
  const risks = (e) => (e.risk_types ? `${e.risk_types_before ? `${riskList(e.risk_types_before)} → ` : ""}${riskList(e.risk_types)}` : null);
  const entries = alert.history.map((e) => ({ at: e.at, text: `${changeName(e.change)}${e.level ? ` (${t(e.level)})` : ""}`, by: e.by, note: e.note || risks(e) }));
  for (const e of (household && household.timeline) || []) {
    entries.push({ at: e.event_time || e.at, text: `${t("score")}: ${t(e.level)} · ${yuan(e.per_capita_income)} ${t("unit_yuan")}`, by: (e.caused_by || []).join(", "), note: (e.reasons || []).join(", ") });
  }
  entries.sort((a, b) => b.at.localeCompare(a.at));
  return h("ol", { class: "timeline" }, entries.map((e) => h("li", {}, h("time", {}, when(e.at)), " ", h("b", {}, e.text),
    h("small", {}, ` ${e.by}`), e.note ? h("div", { class: "muted" }, e.note) : null)));
}

async function showAlert(id) {
  view().replaceChildren(h("p", { class: "muted" }, t("loading")));
  const alert = await api(`/alerts/${encodeURIComponent(id)}`);
  S.shown = { id: alert.id, version: alert.version };
  await places([alert.region_code]);
  let household = null;
  try { household = await api(`/households/${encodeURIComponent(alert.household_id)}`); } catch (e) { if (e.status !== 404) throw e; }
  const reasons = h("ul", { class: "reasons" }, alert.reasons.map((r) => h("li", { class: r.level }, levelBadge(r.level), " ",
    r[`message_${LANG}`], h("small", { class: "muted" }, ` ${Object.entries(r.evidence).map(([k, v]) => `${k}=${v}`).join(" · ")}`))));
  const facts = h("dl", { class: "facts" },
    h("dt", {}, t("status")), h("dd", { id: "status" }, t(alert.status)),
    h("dt", {}, t("village")), h("dd", { id: "place" }, placeLabel(alert.region_code, alert.region_name),
      h("small", { class: "full" }, PLACES.get(alert.region_code).full_name)),
    h("dt", {}, t("raised")), h("dd", {}, when(alert.created_at)),
    h("dt", {}, t("due")), h("dd", { class: isOverdue(alert) ? "flag" : null }, when(alert.due_at), isOverdue(alert) ? ` · ${t("overdue")}` : ""),
    alert.assignee ? [h("dt", {}, t("assignee")), h("dd", {}, alert.assignee)] : null,
    alert.visit ? [h("dt", {}, t("visit_done")), h("dd", {}, `${when(alert.visit.visited_at)} · ${alert.visit.by}`)] : null,
    alert.category ? [h("dt", {}, t("category")), h("dd", {}, t(alert.category))] : null,
    alert.measures.length ? [h("dt", {}, t("measures")), h("dd", {}, alert.measures.map((m) => `${t(m.type)} ${yuan(m.amount)}`).join("；"))] : null);
  view().replaceChildren(
    h("a", { href: "#/inbox", class: "back" }, `← ${t("back")}`),
    h("h1", {}, levelBadge(alert.level), " ", alert.household_id),
    h("div", { class: "grid" },
      h("section", { class: "card" }, h("h2", {}, t("reasons")), reasons, h("h2", {}, t("risk_types")), riskTypes(alert), facts),
      h("section", { class: "card", id: "actions" }, h("h2", {}, t("actions")), actions(alert)),
      household ? h("section", { class: "card" }, h("h2", {}, t("figures")), figures(household), incomeChart(household))
        : h("section", { class: "card" }, h("p", { class: "muted" }, t("household_missing"))),
      h("section", { class: "card" }, h("h2", {}, t("timeline")), timeline(alert, household))));
}

// ---- actions: each calls the workflow endpoints with the alert's current version
function field(label, input) { return h("label", {}, h("span", {}, t(label)), input); }
function options(values, selected) { return values.map((v) => h("option", { value: v, selected: v === selected }, t(v))); }
function localNow() { const d = new Date(); d.setMinutes(d.getMinutes() - d.getTimezoneOffset()); return d.toISOString().slice(0, 16); }

function actionForm(name, alert, inputs, build) {
  const form = h("form", { class: `action ${name}`, "data-action": name }, inputs,
    h("button", { type: "submit", class: name === "dismiss" ? "secondary" : null }, t(name)));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    const [path, body] = build(data, form);
    form.querySelector("button").disabled = true;
    try {
      await api(`/alerts/${encodeURIComponent(alert.id)}/${path}`, { method: "POST", json: { expected_version: alert.version, ...body } });
      flash(t("done"), "ok");
    } catch (e) { if (e.message !== "401") flash(e.message); }
    route();
  });
  return form;
}
const move = (to, extra) => (data, form) => ["transitions", { to, note: data.note || "", ...(extra ? extra(data, form) : {}) }];

function actions(alert) {
  const role = S.me.role, worker = role === "township_worker", supervisor = role === "county_supervisor";
  const note = () => field("note", h("input", { name: "note", maxlength: 2000 }));
  const forms = [];
  if (alert.status === "open" && worker) forms.push(actionForm("take", alert, [], move("verifying")));
  if (alert.status === "verifying" && worker) {
    forms.push(actionForm("visit", alert, [field("visited_at", h("input", { type: "datetime-local", name: "visited_at", value: localNow(), required: true })),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "consent", value: "yes", required: true }), h("span", {}, t("consent"))),
      riskPicker(alert), note()],
    move("reviewing", (d, f) => ({ visited_at: new Date(d.visited_at).toISOString(), consent: d.consent === "yes", risk_types: pickedRisks(f) }))));
  }
  if (alert.status === "reviewing" && supervisor) {
    forms.push(actionForm("confirm", alert, [field("category", h("select", { name: "category" }, options(["unstable_exited", "marginal", "sudden_hardship"], alert.category))),
      riskPicker(alert), note()],
    move("confirmed", (d, f) => ({ category: d.category, risk_types: pickedRisks(f) }))));
  }
  if (["confirmed", "assisting"].includes(alert.status) && (worker || supervisor)) {
    forms.push(actionForm("measure", alert, [field("type", h("select", { name: "type" }, measureOptions(alert))),
      field("amount", h("input", { name: "amount", type: "number", min: 0, step: "0.01", required: true })),
      field("date", h("input", { name: "date", type: "date", value: localNow().slice(0, 10), required: true })), note()],
    (d) => ["measures", { type: d.type, amount: Number(d.amount), date: d.date, note: d.note || "" }]));
  }
  if (alert.status === "confirmed" && (worker || supervisor) && alert.measures.length) forms.push(actionForm("start_assist", alert, [], move("assisting")));
  if (alert.status === "assisting" && supervisor) forms.push(actionForm("resolve", alert, [note()], move("resolved")));
  const dismissable = (["open", "verifying", "reviewing"].includes(alert.status) && worker) || (alert.status === "reviewing" && supervisor);
  if (dismissable) {
    forms.push(actionForm("dismiss", alert, [field("reason", h("input", { name: "reason", required: true, maxlength: 500 }))],
      move("dismissed", (d) => ({ reason: d.reason }))));
  }
  return forms.length ? forms : h("p", { class: "muted" }, t("no_actions"));
}

// ---- wiring
document.getElementById("login").addEventListener("submit", (e) => login(e).catch((err) => flash(err.message)));
document.getElementById("logout").addEventListener("click", () => logout());
document.getElementById("lang").addEventListener("click", () => { setLang(LANG === "zh" ? "en" : "zh"); route(); });
window.addEventListener("hashchange", route);
setLang(LANG);
if (S.token) start().catch(() => logout()); else showLogin();
setInterval(() => { if (S.me && !location.hash.startsWith("#/alert/") && !typingInView() && !onModels()) route(); }, 60000);
