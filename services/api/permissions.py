"""Who may do what, and where: permissions as small composable checks behind one dependency, `Permissions`, that
every region-scoped route declares through an alias below (`Staff`, `Caseworker`, `Manager`, `Admin`, `Analyst`,
`NationalAnalyst`, `LiveCaseworker`). The route gets the caller as a `Caller`: the user with their jurisdiction's rules.

What a jurisdiction covers is decided in jurisdiction.py; the resources a route reads or changes are loaded already
scoped by scoped.py. tests/unit/test_route_permissions.py fails when a route lacks a permission, and
tests/integration/test_route_jurisdiction.py when any route answers another township or a role that may not.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Annotated

from fastapi import Depends, HTTPException

from services.api.dependencies import CurrentUser, live_user
from services.api.jurisdiction import Caller
from services.api.users import Role, User


class Permission(ABC):
    """One rule a caller must meet."""

    @abstractmethod
    def refusal(self, caller: Caller) -> str | None:
        """Why the caller does not meet the rule (None: they do)."""


class HasRole(Permission):
    """The caller has one of the roles."""

    def __init__(self, *roles: Role):
        self.roles = roles

    def refusal(self, caller: Caller) -> str | None:
        """The roles needed, unless the caller has one."""
        if caller.role in self.roles:
            return None
        return f"this action needs the role {' or '.join(self.roles)}; you are {caller.role}"


class Nationwide(Permission):
    """The caller's jurisdiction is the whole country: for what acts on every region at once (the risk model)."""

    def refusal(self, caller: Caller) -> str | None:
        """Why a regional caller may not, unless the caller is national."""
        if caller.national:
            return None
        return f"this action affects the whole country: it needs a national jurisdiction; yours is {caller.region_code}"


class ReadsCases(Permission):
    """Case lists, alerts, households, ledgers and the live stream are for township and county staff (and admins);
    an analyst reads them only when an admin has granted it (`POST /users/{username}/case-access`, audited)."""

    def refusal(self, caller: Caller) -> str | None:
        """Why an analyst without a grant may not read cases."""
        if caller.role != "analyst" or caller.case_access:
            return None
        return (
            "cases (alerts, households, ledgers, the live stream) are for township and county staff; analysts read "
            "the model registry, evaluations and the aggregates of GET /stats, unless an admin grants case access"
        )


class Permissions:
    """The dependency of a region-scoped route: the caller, checked against each permission (403 naming the first
    unmet), as a `Caller` whose jurisdiction rules the route applies to what it reads or changes."""

    def __init__(self, *permissions: Permission):
        self.permissions = permissions

    async def __call__(self, user: CurrentUser) -> Caller:
        return self.admit(user)

    def admit(self, user: User) -> Caller:
        """The user as a Caller, or 403 naming the first permission they lack."""
        caller = Caller.model_construct(**dict(user))
        for permission in self.permissions:
            if (why := permission.refusal(caller)) is not None:
                raise HTTPException(403, why)
        return caller


class LivePermissions(Permissions):
    """As Permissions, for a live stream: the token may also come as `?access_token=` (EventSource)."""

    async def __call__(self, user: Annotated[User, Depends(live_user)]) -> Caller:  # type: ignore[override]
        return self.admit(user)


Staff = Annotated[Caller, Depends(Permissions())]
Caseworker = Annotated[Caller, Depends(Permissions(ReadsCases()))]
LiveCaseworker = Annotated[Caller, Depends(LivePermissions(ReadsCases()))]
Manager = Annotated[Caller, Depends(Permissions(HasRole("admin", "county_supervisor")))]
Admin = Annotated[Caller, Depends(Permissions(HasRole("admin")))]
Analyst = Annotated[Caller, Depends(Permissions(HasRole("analyst", "admin")))]
NationalAnalyst = Annotated[Caller, Depends(Permissions(HasRole("analyst", "admin"), Nationwide()))]
