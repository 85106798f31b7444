"""Routes changing an account's rights and secrets: your own password (`POST /users/me/password`) and an analyst's
reading of cases (`POST /users/{username}/case-access`, admin)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from services.api.accounts import WAITS, Token, audit_account, token_pair, wait, weak
from services.api.dependencies import Services, Throttle, Users
from services.api.permissions import Admin, Staff
from services.api.scoped import ManagedAccount
from services.api.users import PASSWORD_MAX, Password, User

router = APIRouter()


class CaseAccess(BaseModel):
    """Body of `POST /users/{username}/case-access`."""

    granted: bool = Field(description="true: the analyst reads cases inside their jurisdiction; false: no more")


class PasswordChange(BaseModel):
    """Body of `POST /users/me/password`: your current password and the new one."""

    old_password: str = Field(min_length=1, max_length=PASSWORD_MAX)
    new_password: Password


@router.post("/users/me/password", response_model=Token, tags=["users"], summary="Change your password")
async def change_password(
    request: Request, body: PasswordChange, user: Staff, throttle: Throttle, users: Users, services: Services
) -> Token:
    """Your current password, then a new one meeting the policy; ends your other tokens and answers new ones. A
    wrong current password counts as a failed login."""
    client = request.client.host if request.client else "unknown"
    admission = await throttle.admit(client, user.username)
    if admission.verdict != "go":
        raise wait(429, admission.seconds, WAITS[admission.verdict])
    if await users.authenticate(user.username, body.old_password) is None:
        if locked := await throttle.failed(user.username, admission.attempt):
            raise wait(429, locked, "wrong password, too many times: account locked")
        raise HTTPException(403, "old_password: not your current password")
    await throttle.succeeded(client, user.username)
    if body.new_password == body.old_password:
        raise HTTPException(
            422, [{"loc": ["body", "new_password"], "msg": "the same as the old one", "type": "reused"}]
        )
    await weak(services.password_policy, body.new_password, user.username, "new_password")
    changed = await users.set_password(user.username, body.new_password)
    await services.refresh.revoke_all(user.username)
    await audit_account(services.audit, user, "user.password_changed", user)
    return await token_pair(services, changed or user)


@router.post(
    "/users/{username}/case-access", response_model=User, tags=["users"], summary="Let an analyst read cases (admin)"
)
async def case_access(target: ManagedAccount, body: CaseAccess, admin: Admin, services: Services) -> User:
    """Analysts read the model registry, evaluations and aggregates; this grants (or withdraws) reading the cases of
    their jurisdiction too. Audited."""
    if target.role != "analyst":
        raise HTTPException(
            422, [{"loc": ["path", "username"], "msg": "only analysts need case access", "type": "role"}]
        )
    user = await services.users.set_case_access(target.username, body.granted)
    await audit_account(
        services.audit, admin, "user.case_access_granted" if body.granted else "user.case_access_withdrawn", target
    )
    return user  # type: ignore[return-value]
