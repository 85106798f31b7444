"""Staff accounts in Redis: roles, jurisdictions, argon2 password hashes (on threads of their own) and a token epoch."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Annotated, Literal, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, Field, StringConstraints
from redis.asyncio import Redis

Role = Literal["township_worker", "county_supervisor", "analyst", "admin"]
USERNAME_MAX, PASSWORD_MAX = 32, 128
USERNAME_PATTERN = rf"^[a-z0-9_.-]{{3,{USERNAME_MAX}}}$"
Username = Annotated[str, StringConstraints(pattern=USERNAME_PATTERN)]
Jurisdiction = Annotated[str, StringConstraints(pattern=r"^(\d{2,12})?$")]  # "": the whole country
PASSWORD_FLOOR = 8  # below this a password is refused before the policy (PASSWORD_MIN_LENGTH, at least this) runs
Password = Annotated[
    str,
    Field(min_length=PASSWORD_FLOOR, max_length=PASSWORD_MAX, examples=["Yuanmou-Lychee-Orchard-47"],
          description="at least 12 characters, not a common password, not containing the username (else 422)"),
]  # fmt: skip
ADMIN_USERNAME = "admin"
_T = TypeVar("_T")


class User(BaseModel):
    """A member of staff; `region_code` is the jurisdiction prefix ("" for the whole country)."""

    username: str = Field(examples=["li.township"])
    role: Role
    region_code: str = Field(examples=["532328101"])
    disabled: bool = False
    created_at: datetime
    case_access: bool = Field(default=False, description="an analyst an admin allowed to read cases (a v1 addition)")


class NewUser(BaseModel):
    """Body of `POST /users`."""

    username: Username = Field(examples=["li.township"])
    password: Password
    role: Role = Field(examples=["township_worker"])
    region_code: Jurisdiction = Field(
        examples=["532328101"], description="a region-code prefix of 2-12 digits; empty: the whole country"
    )


class UserExists(ValueError):
    """The username is taken."""


class PasswordsBusy(RuntimeError):
    """Every argon2 thread is busy and the waiting line is full: the caller should try again shortly."""


def valid_username(name: str) -> bool:
    """True when `name` could be a username (anything else never names an account)."""
    return re.fullmatch(USERNAME_PATTERN, name) is not None


class PasswordWork:
    """Argon2 on a few threads of its own with a bounded waiting line: a flood of logins can neither take the
    threads other work needs nor queue a real user's login behind hundreds of checks (PasswordsBusy instead)."""

    def __init__(self, threads: int, waiting: int):
        self._hasher = PasswordHasher()
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="argon2")
        self._capacity = threads + waiting
        self._admitted = 0
        self._decoy = self._hasher.hash(secrets.token_urlsafe(16))  # checked for unknown users: the same work

    async def hash(self, password: str) -> str:
        """The argon2 hash of a new password."""
        return await self._run(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """True when the password matches; an unknown user (`stored` None) costs the same check and fails."""
        matched = await self._run(self._matches, stored or self._decoy, password)
        return matched and stored is not None

    def _matches(self, stored: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(stored, password))
        except (VerificationError, InvalidHashError):
            return False

    async def _run(self, work: Callable[..., _T], *args: str) -> _T:
        if self._admitted >= self._capacity:  # one event loop: a plain counter is exact
            raise PasswordsBusy
        self._admitted += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, work, *args)
        finally:
            self._admitted -= 1


def _key(username: str) -> str:
    return f"user:{username}"


def _new_epoch() -> str:
    return secrets.token_hex(16)


class UserStore:
    """Users keyed by username; each carries a random `epoch`, replaced on every disable, enable or password reset,
    that tokens must name: a changed account, or a deleted and re-created username, ends every earlier token."""

    def __init__(self, redis: Redis, passwords: PasswordWork):
        self._redis = redis
        self._passwords = passwords

    async def create(self, new: NewUser) -> User:
        """Add a user; raise UserExists if the name is taken."""
        return await self._insert(new.username, new.password, new.role, new.region_code)

    async def _insert(self, username: str, password: str, role: Role, region_code: str) -> User:
        user = User(username=username, role=role, region_code=region_code, created_at=datetime.now(UTC))
        record = {
            **user.model_dump(mode="json", exclude={"disabled", "case_access"}),
            "password_hash": await self._passwords.hash(password),
            "disabled": "0",
            "epoch": _new_epoch(),
        }
        created = await self._redis.hsetnx(_key(username), "username", username)
        if not created:
            raise UserExists(username)
        await self._redis.hset(_key(username), mapping=record)  # type: ignore[arg-type]
        return user

    async def session(self, username: str) -> tuple[User | None, str]:
        """The user (or None) and the epoch that their tokens must carry."""
        record = {str(k): str(v) for k, v in (await self._redis.hgetall(_key(username))).items()}
        if "role" not in record:
            return None, ""
        user = User(
            username=record["username"],
            role=record["role"],  # type: ignore[arg-type]
            region_code=record["region_code"],
            disabled=record.get("disabled") == "1",
            created_at=datetime.fromisoformat(record["created_at"]),
            case_access=record.get("case_access") == "1",
        )
        return user, record.get("epoch") or record.get("generation", "0")  # accounts made before epochs: a counter

    async def get(self, username: str) -> User | None:
        """The user, or None."""
        return (await self.session(username))[0] if valid_username(username) else None

    async def all(self) -> list[User]:
        """Every user, by username."""
        names = [str(k)[5:] async for k in self._redis.scan_iter(match="user:*", count=1000)]
        users = [await self.get(name) for name in sorted(names) if valid_username(name)]
        return [user for user in users if user is not None]

    async def authenticate(self, username: str, password: str) -> User | None:
        """The user if the password matches and the account is enabled (PasswordsBusy when argon2 is saturated)."""
        stored = await self._redis.hget(_key(username), "password_hash") if valid_username(username) else None
        if not await self._passwords.verify(None if stored is None else str(stored), password):
            return None
        user = await self.get(username)
        return user if user and not user.disabled else None

    async def set_disabled(self, username: str, disabled: bool) -> User | None:
        """Disable or enable the account (ending its tokens); None if there is no such user."""
        return await self._update(username, {"disabled": "1" if disabled else "0"})

    async def set_case_access(self, username: str, granted: bool) -> User | None:
        """Allow or stop an analyst's reading of cases; None if there is no such user."""
        if await self.get(username) is None:
            return None
        await self._redis.hset(_key(username), "case_access", "1" if granted else "0")
        return await self.get(username)

    async def set_password(self, username: str, password: str) -> User | None:
        """Replace the password (ending the account's tokens); None if there is no such user."""
        return await self._update(username, {"password_hash": await self._passwords.hash(password)})

    async def _update(self, username: str, fields: dict[str, str]) -> User | None:
        if await self.get(username) is None:
            return None
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(_key(username), mapping={**fields, "epoch": _new_epoch()})  # type: ignore[arg-type,dict-item]
            pipe.hdel(_key(username), "generation")
            await pipe.execute()
        return await self.get(username)

    async def ensure_admin(self, password: str | None) -> tuple[str, str | None]:
        """Make the first admin follow ADMIN_PASSWORD: created with it (or with a generated password, returned, when
        unset), or given it when it differs from the one applied last (whoever sets the environment rotates it);
        else left alone, so a password the admin chose since stays. Returns what happened and the generated one."""
        record = {str(k): str(v) for k, v in (await self._redis.hgetall(_key(ADMIN_USERNAME))).items()}
        if not record:
            generated = None if password else secrets.token_urlsafe(16)
            try:
                await self._insert(ADMIN_USERNAME, password or generated or "", "admin", "")
            except UserExists:
                return "unchanged", None
            stored = await self._redis.hget(_key(ADMIN_USERNAME), "password_hash")
            await self._redis.hset(_key(ADMIN_USERNAME), "bootstrap", str(stored))
            return "created", generated
        applied = record.get("bootstrap") or record.get("password_hash")  # accounts made before: their password
        if password is None or await self._passwords.verify(applied, password):
            return "unchanged", None
        hashed = await self._passwords.hash(password)
        await self._update(ADMIN_USERNAME, {"password_hash": hashed, "bootstrap": hashed})
        return "rotated", None
