"""Break-glass account commands on the server: `python -m services.api.cli rotate-password USERNAME`.

Run where the API runs (it reads REDIS_URL, REDIS_PASSWORD and the password policy's settings from the environment).
Any account may be rotated, the national admin included; every rotation is audited (`user.password_rotated`, by
`cli:<the operating-system user>`), ends the account's tokens and lifts a lockout."""

from __future__ import annotations

import asyncio
import getpass
import secrets
import sys
from typing import Annotated

import typer

from services.api.audit import AuditTrail
from services.api.auth import RefreshTokens
from services.api.passwords import PasswordPolicy
from services.api.throttle import LoginThrottle
from services.api.users import PASSWORD_MAX, PasswordWork, UserStore
from services.common.redis_connections import redis_client
from services.common.settings import PasswordSettings, RedisSettings

app = typer.Typer(help="Shouwang staff accounts (server side).", no_args_is_help=True)


class AccountSettings(RedisSettings, PasswordSettings):
    """What the command reads from the environment (the API's names)."""


@app.callback()
def main() -> None:
    """Shouwang staff accounts."""


@app.command("rotate-password")
def rotate_password(
    username: Annotated[str, typer.Argument(help="the account, e.g. admin")],
    password_stdin: Annotated[bool, typer.Option(help="read the new password from standard input")] = False,
) -> None:
    """Give the account a new password (generated and printed once, or read from standard input)."""
    settings = AccountSettings()
    password = sys.stdin.readline().rstrip("\n") if password_stdin else secrets.token_urlsafe(18)
    policy = PasswordPolicy(settings.password_min_length, settings.password_min_score)
    if len(password) > PASSWORD_MAX or (why := policy.refusal(password, username)) is not None:
        typer.echo(f"password: {why if len(password) <= PASSWORD_MAX else f'longer than {PASSWORD_MAX}'}", err=True)
        raise typer.Exit(2)
    if not asyncio.run(_rotate(settings, username, password)):
        typer.echo(f"no account {username!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{username}: password rotated" + ("" if password_stdin else f"; the new password is {password}"))


async def _rotate(settings: AccountSettings, username: str, password: str) -> bool:
    redis = redis_client(settings.redis_url, decode_responses=True, max_connections=2)
    try:
        users = UserStore(redis, PasswordWork(1, 0))
        user = await users.set_password(username, password)
        if user is None:
            return False
        await RefreshTokens(redis, 1).revoke_all(username)
        await LoginThrottle(redis, 1, 1, 1, 1).clear(username)
        by = f"cli:{getpass.getuser()}"
        await AuditTrail(redis).record(by, "user.password_rotated", f"user:{username}", region=user.region_code)
        return True
    finally:
        await redis.aclose()


if __name__ == "__main__":
    app()
