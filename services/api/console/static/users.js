// The admin's page: the accounts of their jurisdiction (GET /users) and a form creating one (POST /users), whose
// jurisdiction is chosen by place name. Uses h(), api(), t(), flash() and route() of app.js, places.js.
"use strict";
const ROLES = ["township_worker", "county_supervisor", "analyst", "admin"];

async function showUsers() {
  const users = await api("/users");
  await places(users.map((u) => u.region_code));
  const cols = ["username", "role", "region", "status"];
  const table = h("table", { class: "board users", id: "users" },
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, t(c))))),
    h("tbody", {}, users.map((u) => h("tr", { "data-user": u.username },
      h("td", {}, u.username), h("td", {}, t(u.role)),
      h("td", {}, u.region_code ? placeLabel(u.region_code) : t("whole_country")),
      h("td", {}, u.disabled ? t("disabled") : t("active"))))));
  view().replaceChildren(h("h1", {}, t("users"), h("small", {}, ` (${users.length})`)),
    h("section", { class: "card" }, h("h2", {}, t("create_user")), userForm()),
    h("div", { class: "scroll" }, table));
}

function userForm() {
  const form = h("form", { id: "new-user", class: "user-form" },
    field("username", h("input", { name: "username", required: true, autocomplete: "off", pattern: "[a-z0-9_.\\-]{3,32}" })),
    field("password", h("input", { name: "password", type: "password", required: true, minlength: 10, autocomplete: "new-password" })),
    field("role", h("select", { name: "role" }, options(ROLES, "township_worker"))),
    field("region", regionPicker({ name: "region_code", required: true })),
    h("button", { type: "submit" }, t("create_user")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    if (!/^\d{2,12}$/.test(data.region_code)) { flash(t("pick_region")); return; }
    form.querySelector("button[type=submit]").disabled = true;
    try {
      await api("/users", { method: "POST", json: data });
      flash(t("created"), "ok");
      route();
    } catch (e) {
      if (e.message !== "401") flash(e.message);
      form.querySelector("button[type=submit]").disabled = false;
    }
  });
  return form;
}
