"""What a route reads or changes, loaded already scoped to the caller's jurisdiction (the rules of jurisdiction.py):
a route declares `alert: ScopedAlert` instead of reading the alert and checking its region itself.

Outside the jurisdiction, as the README's security model says: an alert or household is 404, exactly as an unknown
one; a subscription or an account is 403 (404 when unknown); a names import is 404; a requested region is narrowed to
the jurisdiction (403 when they do not overlap); a list holds only what lies inside it. Each loader declares the
permission of its routes, so a wrong role is refused (403) before anything is read.
"""

# No `from __future__ import annotations`: FastAPI reads the closures' parameter annotations at run time.

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Query

from services.alerts.subscriptions import NewSubscription, Subscription, SubscriptionStore
from services.api.dependencies import Alerts, BackgroundJobs, Subscriptions, Users
from services.api.jurisdiction import Caller
from services.api.permissions import Admin, Analyst, Caseworker, Manager, Staff
from services.api.users import USERNAME_PATTERN, NewUser, User
from services.common.alerts import Alert
from services.common.job_queues import NAMES_IMPORT
from services.common.job_records import JobRecord

UsernamePath = Annotated[str, Path(pattern=USERNAME_PATTERN, examples=["li.township"])]
JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
REGION_PATTERN = r"^\d{2,12}$"


async def _alert(alert_id: str, user: Caseworker, alerts: Alerts) -> Alert:
    alert = await alerts.get(alert_id)
    if alert is None or not user.covers(alert.region_code):
        raise HTTPException(404, f"no alert {alert_id}")
    return alert


async def _household(household_id: str, user: Caseworker, alerts: Alerts) -> dict[str, Any]:
    household = await alerts.household(household_id)
    if household is None or not user.covers(household["region_code"]):
        raise HTTPException(404, f"no household {household_id} has been scored")
    return household


async def _township(
    user: Caseworker,
    township: Annotated[str, Query(pattern=r"^\d{9}$", description="9-digit township code", examples=["532328101"])],
) -> str:
    user.require(township, f"township {township}")
    return township


ScopedAlert = Annotated[Alert, Depends(_alert)]
"""`GET /alerts/{alert_id}`: the alert, 404 outside the jurisdiction as for an unknown one."""
ScopedHousehold = Annotated[dict[str, Any], Depends(_household)]
"""`GET /households/{household_id}`: the household's figures, 404 outside the jurisdiction as for an unknown one."""
ScopedTownship = Annotated[str, Depends(_township)]
"""`?township=`: a township inside the jurisdiction (403 outside it)."""


def _region(caller: Any, name: str, **query: Any) -> Any:
    """A dependency: the `name` query parameter narrowed to the jurisdiction of `caller` (a permission alias)."""

    async def narrowed(
        user: caller,  # type: ignore[valid-type]
        region: Annotated[str | None, Query(alias=name, pattern=REGION_PATTERN, **query)] = None,
    ) -> str:
        scoped: str = user.narrow(region)
        return scoped

    return Depends(narrowed)


ScopedRegion = Annotated[str, _region(Staff, "region_code", examples=["532328"])]
"""`?region_code=`: the narrower of it and the jurisdiction (the jurisdiction when not given; 403 outside it)."""
ScopedModelRegion = Annotated[str, _region(Analyst, "region", description="a region prefix (default: yours)")]
"""`?region=` of the model's reports, narrowed likewise."""
ScopedWithin = Annotated[str, _region(Staff, "within", description="only under this prefix (inside your jurisdiction)")]
"""`?within=` of place-name suggestions, narrowed likewise."""


async def _subscription_in(subs: SubscriptionStore, sub_id: str, user: Caller) -> Subscription:
    found = await subs.find(sub_id)
    if found is None:
        raise HTTPException(404, f"no subscription {sub_id}")
    user.require(found.region_prefix, "this subscription")
    return found


async def _managed_subscription(sub_id: str, user: Manager, subs: Subscriptions) -> Subscription:
    return await _subscription_in(subs, sub_id, user)


async def _administered_subscription(sub_id: str, admin: Admin, subs: Subscriptions) -> Subscription:
    return await _subscription_in(subs, sub_id, admin)


async def _new_subscription(new: NewSubscription, user: Manager) -> NewSubscription:
    user.require(new.region_prefix, f"region {new.region_prefix}")
    return new


async def _subscriptions(user: Manager, subs: Subscriptions) -> list[Subscription]:
    return [sub for sub in await subs.all() if user.covers(sub.region_prefix)]


ManagedSubscription = Annotated[Subscription, Depends(_managed_subscription)]
"""A subscription a county supervisor or admin manages: 404 unknown, 403 outside the jurisdiction."""
AdministeredSubscription = Annotated[Subscription, Depends(_administered_subscription)]
"""The same, for admins only (its delivery log)."""
NewScopedSubscription = Annotated[NewSubscription, Depends(_new_subscription)]
"""A new subscription's body, its region inside the jurisdiction (403 outside it)."""
SubscriptionsInJurisdiction = Annotated[list[Subscription], Depends(_subscriptions)]
"""Every subscription whose prefix lies inside the jurisdiction."""


async def _managed(username: UsernamePath, admin: Admin, users: Users) -> User:
    target = await users.get(username)
    if target is None:
        raise HTTPException(404, f"no user {username!r}")
    if (why := admin.management_refusal(target.role, target.region_code)) is not None:
        raise HTTPException(403, f"user {username!r}: {why}")
    return target


async def _to_disable(username: UsernamePath, admin: Admin, users: Users) -> User:
    if username == admin.username:
        raise HTTPException(409, "you cannot disable your own account")
    return await _managed(username, admin, users)


async def _new_account(new: NewUser, admin: Admin) -> NewUser:
    if (why := admin.management_refusal(new.role, new.region_code)) is not None:
        raise HTTPException(403, why)
    return new


async def _accounts(admin: Admin, users: Users) -> list[User]:
    return [user for user in await users.all() if admin.covers(user.region_code)]


ManagedAccount = Annotated[User, Depends(_managed)]
"""An account the admin manages (admins of strictly narrower jurisdictions, others inside their own): 404 unknown,
403 otherwise."""
AccountToDisable = Annotated[User, Depends(_to_disable)]
"""As ManagedAccount, never the admin's own (409)."""
NewScopedAccount = Annotated[NewUser, Depends(_new_account)]
"""A new account's body, one the admin may manage (403 otherwise)."""
AccountsInJurisdiction = Annotated[list[User], Depends(_accounts)]
"""Every account inside the admin's jurisdiction, by username."""


async def _import_job(job_id: JobId, admin: Admin, jobs: BackgroundJobs) -> JobRecord:
    record = await jobs.store.get(NAMES_IMPORT, job_id)
    if record is None or not admin.covers(record.region):
        raise HTTPException(404, f"no region import {job_id}")
    return record


ScopedImportJob = Annotated[JobRecord, Depends(_import_job)]
"""A names import of the admin's jurisdiction or a narrower one: 404 otherwise, as an unknown one."""
