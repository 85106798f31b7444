// Activate, roll back, shadow: each behind a confirmation that names its effect. When the version concerned runs in
// shadow, the effect comes from the shadow report ("1,240 households in 元谋县 would move to red"); otherwise the
// confirmation says plainly that the effect is unknown until it has run in shadow. National analysts and admins only
// (the API refuses anyone else). Uses h(), api(), t(), flash(), route() of app.js and words-models.js.
"use strict";
const MODELS = { list: null, shadow: null };  // the registry and shadow report the page shows, for the effects
const mayRollOut = () => S.me && ["analyst", "admin"].includes(S.me.role) && S.me.region_code === "";

function countyEffect(c) {
  const moves = [c.to_red ? tf("eff_to_red", c.to_red) : null, c.to_yellow ? tf("eff_to_yellow", c.to_yellow) : null,
    c.to_green ? tf("eff_to_green", c.to_green) : null].filter(Boolean);
  return tf("eff_county", c.county_name || c.county, moves.join(comma()));
}

// what the shadow report says would happen if the candidate became the active model
function shadowEffect(report) {
  const moved = report.by_county.filter((c) => c.changed), shown = moved.slice(0, 6);
  return [h("p", {}, tf("eff_shadow_report", report.households)),
    moved.length ? h("ul", { class: "effects" }, shown.map((c) => h("li", { "data-county": c.county }, countyEffect(c))))
      : h("p", {}, t("eff_no_change")),
    moved.length > shown.length ? h("p", {}, tf("eff_more", moved.length - shown.length)) : null,
    h("p", {}, tf("eff_alerts", report.alerts_active, report.alerts_candidate))];
}

function effectOf(action, version) {
  const { list, shadow } = MODELS;
  if (action === "shadow") return [h("p", {}, tf("eff_shadow", version)), list.shadow ? h("p", {}, tf("eff_replaces", list.shadow)) : null];
  if (action === "stop") return [h("p", {}, t("eff_stop"))];
  const lines = action === "rollback" ? [h("p", {}, tf("eff_rollback", version, list.active || t("eff_rules")))] : [];
  if (version === list.shadow && shadow && shadow.households) lines.push(...shadowEffect(shadow));
  else if (version === list.shadow) lines.push(h("p", { class: "unknown" }, tf("eff_unknown_yet", version)));
  else lines.push(h("p", { class: "unknown" }, tf("eff_unknown", version)));
  return [...lines, h("p", {}, tf("eff_then", version))];
}

function confirmDialog(title, effect, label) {
  return new Promise((resolve) => {
    const ok = h("button", { type: "button", id: "confirm-ok" }, label);
    const cancel = h("button", { type: "button", class: "secondary", id: "confirm-cancel" }, t("cancel"));
    const dialog = h("dialog", { id: "confirm", class: "confirm", "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title" }, title), h("h3", {}, t("effect")), h("div", { id: "effect" }, effect),
      h("div", { class: "buttons" }, cancel, ok));
    const close = (answer) => { dialog.close(); dialog.remove(); resolve(answer); };
    ok.addEventListener("click", () => close(true));
    cancel.addEventListener("click", () => close(false));
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); close(false); });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

async function rollOut(action, version) {
  const path = encodeURIComponent(version || "");
  const [label, url, method, done] = {
    activate: [t("activate"), `/models/${path}/activate`, "POST", "activated"],
    shadow: [t("shadow_start"), `/models/${path}/shadow`, "POST", "shadowed"],
    stop: [t("shadow_stop"), "/models/shadow", "DELETE", "stopped"],
    rollback: [t("rollback_to"), "/models/rollback", "POST", "rolled_back"],
  }[action];
  if (!await confirmDialog(`${label} ${version}`, effectOf(action, version), `${t("confirm_do")}${colon()}${label}`)) return;
  try {
    await api(url, { method });
    flash(`${t(done)} ${version}`, "ok");
  } catch (e) { if (e.message !== "401") flash(e.message); }
  route();
}

// the buttons of one version (none for a regional analyst: the model is national)
function versionActions(model) {
  if (!mayRollOut()) return null;
  const button = (action, cls) => h("button", { type: "button", class: cls || null, "data-action": action, "data-version": model.version,
    onclick: () => rollOut(action, model.version).catch((e) => flash(e.message)) }, t({ stop: "shadow_stop", shadow: "shadow_start" }[action] || action));
  return h("div", { class: "actions" },
    model.active ? null : button("activate"),
    model.active || model.shadow ? null : button("shadow", "secondary"),
    model.shadow ? button("stop", "secondary") : null);
}

function rollbackButton(list) {
  if (!mayRollOut() || !list.rollback_to) return null;
  return h("button", { type: "button", class: "secondary", id: "rollback", "data-action": "rollback", "data-version": list.rollback_to,
    onclick: () => rollOut("rollback", list.rollback_to).catch((e) => flash(e.message)) }, `${t("rollback_to")} ${list.rollback_to}`);
}
