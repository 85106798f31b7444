// Place names instead of region codes: a cache of GET /regions, how a place is shown (name, code in small print,
// full name on hover), and a field that takes a name and suggests matches (GET /regions/suggest). zh-CN names in
// both languages. Uses h() and api() of app.js, loaded after this file.
"use strict";
const PLACES = new Map();  // code -> {code, name, full_name}

async function places(codes) {
  const wanted = [...new Set(codes.filter((c) => c && !PLACES.has(c)))];
  for (let first = 0; first < wanted.length; first += 500) {
    const query = new URLSearchParams(wanted.slice(first, first + 500).map((c) => ["code", c]));
    for (const place of await api(`/regions?${query}`)) PLACES.set(place.code, place);
  }
  return PLACES;
}
function rememberPlace(code, name) {
  if (code && name && !PLACES.has(code)) PLACES.set(code, { code, name, full_name: name });
}
function placeLabel(code, name) {
  const known = PLACES.get(code) || { code, name: name || code, full_name: name || code };
  const shown = name || known.name;
  return h("span", { class: "place", title: `${known.full_name} · ${code}`, "data-region": code },
    shown, shown !== code ? h("small", { class: "code" }, code) : null);
}
function jurisdictionName(code) {
  return code ? (PLACES.get(code) || { name: code }).name : t("whole_country");
}

// A text field that takes a place name (or its pinyin initials, or digits) and offers matches inside the caller's
// jurisdiction; the chosen code goes into a hidden input named `name` (digits typed are taken as a code).
function regionPicker({ name, value, required, onPick, onClear }) {
  const code = h("input", { type: "hidden", name, value: value ? value.code : "" });
  const text = h("input", { type: "search", class: "region-input", autocomplete: "off", required, value: value ? value.name : "",
    placeholder: t("region_hint"), "aria-autocomplete": "list", "data-picker": name });
  const list = h("ul", { class: "suggest", role: "listbox", hidden: true });
  let shown = [], timer = null, asked = 0;
  const choose = (place) => {
    code.value = place.code; text.value = place.name; list.hidden = true; shown = [];
    rememberPlace(place.code, place.name);
    if (onPick) onPick(place);
  };
  const show = (found) => {
    shown = found;
    list.replaceChildren(...(found.length ? found.map((p) => h("li", {},
      h("button", { type: "button", class: "link", title: p.full_name, "data-code": p.code, onclick: () => choose(p) },
        p.name, h("small", {}, ` ${p.full_name === p.name ? "" : p.full_name + " · "}${p.code}`))))
      : [h("li", { class: "muted" }, t("no_match"))]));
    list.hidden = false;
  };
  text.addEventListener("input", () => {
    const typed = text.value.trim();
    code.value = /^\d{2,12}$/.test(typed) ? typed : "";
    clearTimeout(timer);
    if (!typed) { list.hidden = true; shown = []; if (onClear) onClear(); return; }
    const mine = ++asked;
    timer = setTimeout(async () => {
      try {
        const found = await api(`/regions/suggest?${new URLSearchParams({ q: typed, limit: 10 })}`);
        if (mine === asked) show(found);
      } catch (e) { if (e.message !== "401") flash(e.message); }
    }, 200);
  });
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && shown.length) { event.preventDefault(); choose(shown[0]); }
    if (event.key === "Escape") list.hidden = true;
  });
  return h("div", { class: "picker" }, text, code, list);
}
