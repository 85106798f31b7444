"""Every route of the API, taken from the app itself, called about one township's data as staff of the next township
and as each role that may not call it: refused (403 or 404) or answered with nothing outside the caller's township.
A route the table below does not name fails here, so a new route is covered as soon as it exists."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis
from fastapi.routing import iter_route_contexts
from pydantic import SecretStr

from services.alerts.store import OUTBOX
from services.api.app import create_app
from services.common.settings import ApiSettings
from tests.clients import create_user, login, password_of, post_event, wait_for_alert
from tests.factories import registration

pytestmark = pytest.mark.integration
TOWNSHIP, NEIGHBOUR = "532391101", "532391102"  # the data lies in TOWNSHIP; NEIGHBOUR's staff must not reach it
ROLES = {"worker": "township_worker", "supervisor": "county_supervisor", "analyst": "analyst", "admin": "admin"}
CASES = frozenset({"worker", "supervisor", "admin"})  # analysts read cases only when an admin grants it
MANAGERS, ADMINS, ANALYSTS = frozenset({"supervisor", "admin"}), frozenset({"admin"}), frozenset({"analyst", "admin"})
STAFF, NATIONAL_ONLY = frozenset(ROLES), frozenset[str]()  # NATIONAL_ONLY: no regional caller, whatever the role
REFUSED, LISTS, STREAM = "refused", "lists", "stream"  # what the neighbour's staff get: 403/404, their own only
NATIONAL = "national"  # the risk model is the whole country's: any analyst reads it, it is no township's data
OWN = "own"  # acts inside the caller's own jurisdiction only (a names import: rows outside it are refused each)


@dataclass(frozen=True)
class Probe:
    """How a route is called about TOWNSHIP's data, which roles may call it, and what other callers get."""

    path: str  # formatted with the fixture's values: {township}, {alert}, {household}, {sub}, {user}, ...
    roles: frozenset[str]
    outside: str
    body: dict[str, Any] | None = None
    listed: str = ""  # LISTS: the field naming each item's region ("items.region_code": inside a page's items)
    control: bool = False  # the same call by an allowed role of TOWNSHIP succeeds (the probe does reach the data)
    upload: bool = False


PUBLIC, SIGNED_IN = "public", "signed in"  # no token needed; any signed-in member of staff, about themselves
MODELS_READ = Probe("", ANALYSTS, NATIONAL)
SUBSCRIPTION = {"region_prefix": TOWNSHIP, "url": "http://127.0.0.1:9/jurisdiction", "secret": "s" * 24}
NEW_USER = {"username": "rj.new", "password": password_of("rj.new"), "role": "township_worker", "region_code": TOWNSHIP}
EXPECTED: dict[tuple[str, str], Probe | str] = {
    ("GET", "/alerts"): Probe(
        "/alerts?region_code={township}&limit=500", CASES, LISTS, listed="items.region_code", control=True
    ),  # fmt: skip
    ("GET", "/alerts/stream"): Probe("/alerts/stream", CASES, STREAM),
    ("GET", "/alerts/{alert_id}"): Probe("/alerts/{alert}", CASES, REFUSED, control=True),
    ("POST", "/alerts/{alert_id}/transitions"): Probe(
        "/alerts/{alert}/transitions", CASES, REFUSED, {"to": "verifying"}
    ),
    ("POST", "/alerts/{alert_id}/measures"): Probe(
        "/alerts/{alert}/measures", CASES, REFUSED, {"type": "employment", "amount": 1, "date": "2025-03-02"}
    ),
    ("GET", "/households/{household_id}"): Probe("/households/{household}", CASES, REFUSED, control=True),
    ("GET", "/stats"): Probe("/stats?region_code={township}", STAFF, REFUSED, control=True),
    ("GET", "/ledger.csv"): Probe("/ledger.csv?township={township}", CASES, REFUSED, control=True),
    ("POST", "/subscriptions"): Probe("/subscriptions", MANAGERS, REFUSED, SUBSCRIPTION),
    ("GET", "/subscriptions"): Probe("/subscriptions", MANAGERS, LISTS, listed="region_prefix", control=True),
    ("DELETE", "/subscriptions/{sub_id}"): Probe("/subscriptions/{sub}", MANAGERS, REFUSED),
    ("GET", "/subscriptions/{sub_id}/deliveries"): Probe(
        "/subscriptions/{sub}/deliveries", ADMINS, REFUSED, control=True
    ),  # fmt: skip
    ("GET", "/audit"): Probe("/audit?limit=500", ADMINS, LISTS, listed="items.region", control=True),
    ("GET", "/users"): Probe("/users", ADMINS, LISTS, listed="region_code", control=True),
    ("POST", "/users"): Probe("/users", ADMINS, REFUSED, NEW_USER),
    ("POST", "/users/{username}/disable"): Probe("/users/{user}/disable", ADMINS, REFUSED),
    ("POST", "/users/{username}/enable"): Probe("/users/{user}/enable", ADMINS, REFUSED),
    ("POST", "/users/{username}/reset-password"): Probe(
        "/users/{user}/reset-password", ADMINS, REFUSED, {"password": "a-probe-passphrase-4711"}
    ),
    ("POST", "/users/{username}/case-access"): Probe(
        "/users/{analyst}/case-access", ADMINS, REFUSED, {"granted": True}
    ),
    ("GET", "/users/me"): SIGNED_IN,
    ("POST", "/users/me/password"): SIGNED_IN,
    ("GET", "/regions"): SIGNED_IN,  # place names are public reference data for staff
    ("GET", "/regions/suggest"): Probe("/regions/suggest?q=5323&within={township}", STAFF, REFUSED, control=True),
    ("POST", "/regions/import"): Probe("/regions/import", ADMINS, OWN, upload=True),
    ("GET", "/regions/import/{job_id}"): Probe("/regions/import/{import_job}", ADMINS, REFUSED, control=True),
    ("GET", "/regions/import/{job_id}/rejects"): Probe(
        "/regions/import/{import_job}/rejects", ADMINS, REFUSED, control=True
    ),  # fmt: skip
    ("GET", "/models/shadow/report"): Probe("/models/shadow/report?region={township}", ANALYSTS, REFUSED),
    ("GET", "/models/active/monitoring"): Probe("/models/active/monitoring?region={township}", ANALYSTS, REFUSED),
    ("GET", "/models/{version}/monitoring"): Probe(
        "/models/none-such/monitoring?region={township}", ANALYSTS, REFUSED
    ),  # fmt: skip
    ("DELETE", "/models/shadow"): Probe("/models/shadow", NATIONAL_ONLY, NATIONAL),
    ("POST", "/models/rollback"): Probe("/models/rollback", NATIONAL_ONLY, NATIONAL),
    ("POST", "/models/train"): Probe("/models/train", NATIONAL_ONLY, NATIONAL, {}),
    ("POST", "/models/{version}/activate"): Probe("/models/none-such/activate", NATIONAL_ONLY, NATIONAL),
    ("POST", "/models/{version}/shadow"): Probe("/models/none-such/shadow", NATIONAL_ONLY, NATIONAL),
    ("GET", "/models"): Probe("/models", ANALYSTS, NATIONAL),
    ("GET", "/models/train/{job}"): Probe("/models/train/0123456789abcdef", ANALYSTS, NATIONAL),
    ("GET", "/models/{version}/report"): Probe("/models/none-such/report", ANALYSTS, NATIONAL),
    ("GET", "/models/{version}/report/{name}"): Probe("/models/none-such/report/reliability.png", ANALYSTS, NATIONAL),
    ("POST", "/models/{version}/evaluations"): Probe("/models/none-such/evaluations", ANALYSTS, NATIONAL),
    ("GET", "/models/{version}/evaluations"): Probe("/models/none-such/evaluations", ANALYSTS, NATIONAL),
    ("GET", "/models/{version}/evaluations/jobs/{job}"): Probe(
        "/models/none-such/evaluations/jobs/0123456789abcdef", ANALYSTS, NATIONAL
    ),
    ("GET", "/models/{version}/evaluations/{evaluation}/report"): Probe(
        "/models/none-such/evaluations/x/report", ANALYSTS, NATIONAL
    ),
    **{("POST", f"/auth/{name}"): PUBLIC for name in ("token", "refresh", "logout")},
    **{("GET", path): PUBLIC for path in ("/healthz", "/readyz", "/metrics", "/", "/openapi.json", "/docs", "/redoc")},
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("MOUNT", "/console"): PUBLIC,  # the console's static files
}


def app_routes() -> list[tuple[str, str]]:
    """Every (method, path) the API app serves, as built by create_app (mounts as MOUNT)."""
    app = create_app(
        ApiSettings(jwt_secret=SecretStr("route-test-secret-0123456789abcdef"), redis_url="redis://127.0.0.1:1/0")
    )
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        route: Any = context.original_route
        methods = (route.methods or set()) - {"HEAD"} if hasattr(route, "methods") else {"MOUNT"}
        found |= {(method, route.path) for method in methods}
    return sorted(found)


@dataclass
class World:
    """TOWNSHIP's alert, household, subscription, accounts and names import; everyone's authorization headers."""

    values: dict[str, str]
    headers: dict[tuple[str, str], dict[str, str]]  # (role, "in" or "next"): headers
    stream_after: str  # the outbox entry just before TOWNSHIP's first change


@pytest.fixture(scope="module")
def world(stack) -> World:
    admin = login(stack)
    assert post_event(stack, registration("HRJ-0001", 9600, region_code=f"{TOWNSHIP}001")).status_code == 202
    alert = wait_for_alert(stack, "HRJ-0001", admin)
    headers = {
        (role, side): create_user(stack, f"rj.{role}.{side}", name, TOWNSHIP if side == "in" else NEIGHBOUR)
        for role, name in ROLES.items()
        for side in ("in", "next")
    }
    sub = httpx.post(f"{stack.api_url}/subscriptions", json=SUBSCRIPTION, headers=admin, timeout=30)
    assert sub.status_code == 201, sub.text
    names = {"file": ("names.csv", f"code,name\n{TOWNSHIP}001,探针村\n".encode())}
    job = httpx.post(f"{stack.api_url}/regions/import", files=names, headers=headers["admin", "in"], timeout=30)
    assert job.status_code == 202, job.text
    values = {"township": TOWNSHIP, "alert": alert["id"], "household": "HRJ-0001", "sub": sub.json()["id"],
              "user": "rj.worker.in", "analyst": "rj.analyst.in", "import_job": job.json()["id"]}  # fmt: skip
    outbox: Any = redis.Redis.from_url(stack.redis_url, decode_responses=True).xrevrange(OUTBOX, count=20_000)
    mine = [
        i for i, (_, fields) in enumerate(outbox) if json.loads(fields["change"])["region_code"].startswith(TOWNSHIP)
    ]
    after = outbox[mine[-1] + 1][0] if mine and mine[-1] + 1 < len(outbox) else "0-0"
    return World(values, headers, after)


def call(stack, method: str, probe: Probe, values: dict[str, str], headers: dict[str, str]) -> httpx.Response:
    files = {"file": ("names.csv", f"code,name\n{TOWNSHIP}002,另一村\n".encode())} if probe.upload else None
    url = stack.api_url + probe.path.format(**values)
    return httpx.request(method, url, json=probe.body, files=files, headers=headers, timeout=60)


def regions_listed(body: Any, field: str) -> list[str]:
    """The region of each item a list answered (`items.region`: the items of a page)."""
    items = body["items"] if field.startswith("items.") else body
    return [str(item.get(field.removeprefix("items."))) for item in items]


def streamed_regions(stack, headers: dict[str, str], after: str, seconds: float) -> list[str]:
    """The regions of the changes a live stream resumed after `after` sends within `seconds` (until TOWNSHIP's)."""
    found: list[str] = []
    timeout = httpx.Timeout(seconds, connect=10)
    try:
        with httpx.stream("GET", f"{stack.api_url}/alerts/stream", headers={**headers, "last-event-id": after},
                          timeout=timeout) as response:  # fmt: skip
            assert response.status_code == 200, response.read()
            deadline = time.monotonic() + seconds
            for line in response.iter_lines():
                if line.startswith("data:"):
                    found.append(json.loads(line.removeprefix("data:"))["region_code"])
                if time.monotonic() > deadline or (found and found[-1].startswith(TOWNSHIP)):
                    break
    except httpx.ReadTimeout:
        pass
    return found


def test_the_expectations_name_every_route_of_the_app_and_no_other():
    assert sorted(EXPECTED) == app_routes()


@pytest.mark.parametrize("route", app_routes(), ids=" ".join)
def test_every_route_refuses_another_township_and_each_role_that_may_not_call_it(stack, world, route):
    method, template = route
    probe = EXPECTED.get(route)
    assert probe is not None, f"{method} {template} is new: say in EXPECTED who may call it and what others get"
    if probe == PUBLIC:
        return
    anonymous = call(stack, method, probe if isinstance(probe, Probe) else Probe(template, STAFF, ""), world.values, {})
    assert anonymous.status_code == 401, (route, anonymous.text)
    if not isinstance(probe, Probe):
        return
    for role in sorted(STAFF - probe.roles):  # a role that may not, inside the township itself
        refused = call(stack, method, probe, world.values, world.headers[role, "in"])
        assert refused.status_code in (403, 404), (route, role, refused.status_code, refused.text)
    for role in sorted(probe.roles) if probe.outside in (REFUSED, LISTS, STREAM) else ():  # the next township's
        outsider = world.headers[role, "next"]
        if probe.outside == STREAM:
            regions = streamed_regions(stack, outsider, world.stream_after, 3)
        else:
            answered = call(stack, method, probe, world.values, outsider)
            if probe.outside == REFUSED:
                assert answered.status_code in (403, 404), (route, role, answered.status_code, answered.text)
                continue
            assert answered.status_code == 200, (route, role, answered.text)
            regions = regions_listed(answered.json(), probe.listed)
        assert all(region.startswith(NEIGHBOUR) for region in regions), (route, role, regions)
    if probe.outside == STREAM or probe.control:  # the same call inside the township reaches its data
        insider = world.headers[min(probe.roles), "in"]
        if probe.outside == STREAM:
            assert any(r.startswith(TOWNSHIP) for r in streamed_regions(stack, insider, world.stream_after, 30))
            return
        answered = call(stack, method, probe, world.values, insider)
        assert answered.status_code == 200, (route, answered.text)
        if probe.listed:
            assert any(r.startswith(TOWNSHIP) for r in regions_listed(answered.json(), probe.listed)), route
