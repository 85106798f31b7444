"""Login flood, in one process: how long a real user takes to log in while FLOOD logins with unknown usernames from
one address arrive at once (issue 14, item 7: 200 of them made a real login take 22.7 s).

`python -m bench.login_flood [--flood 200]` drives the API app over ASGI (no server, no Kafka) with the Redis at
REDIS_URL (default redis://127.0.0.1:6379/0; use a scratch one: it adds a user). It prints how many passwords were
checked and the real user's time to get in, retrying after `Retry-After` on a 429 or 503 as a client should.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections import Counter
from typing import Annotated

import httpx
import typer
from pydantic import SecretStr

from bench.command import exit_with
from services.api.app import create_app
from services.api.dependencies import services_of
from services.api.users import NewUser
from services.common.settings import ApiSettings


async def flood(size: int) -> dict[str, object]:
    """Run the flood and the real login together; their outcomes and the real user's seconds to get in."""
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    app = create_app(ApiSettings(jwt_secret=SecretStr(secrets.token_hex(32)), redis_url=redis_url))
    username, password = f"flood.{secrets.token_hex(4)}", "a-real-users-passphrase"
    await services_of(app).users.create(
        NewUser(username=username, password=password, role="township_worker", region_code="532328101")
    )
    attacker = httpx.AsyncClient(transport=httpx.ASGITransport(app, client=("10.0.0.1", 1)), base_url="http://api")
    user = httpx.AsyncClient(transport=httpx.ASGITransport(app, client=("10.0.0.2", 1)), base_url="http://api")

    async def guess(n: int) -> int:
        form = {"username": f"nobody.{n}", "password": "whatever-password"}
        return (await attacker.post("/auth/token", data=form, timeout=600)).status_code

    async def real_login() -> tuple[float, int]:
        started, tries = time.perf_counter(), 0
        while True:
            tries += 1
            answer = await user.post("/auth/token", data={"username": username, "password": password}, timeout=600)
            if answer.status_code == 200:
                return time.perf_counter() - started, tries
            await asyncio.sleep(float(answer.headers.get("retry-after", "1")))

    guesses = [asyncio.create_task(guess(n)) for n in range(size)]
    await asyncio.sleep(0)  # every guess is on its way before the real user tries
    seconds, tries = await real_login()
    outcomes = Counter(await asyncio.gather(*guesses))
    return {"flood": size, "guess_outcomes": dict(outcomes), "real_login_seconds": round(seconds, 2), "tries": tries}


def main(
    flood_size: Annotated[int, typer.Option("--flood", help="concurrent logins with unknown names")] = 200,
) -> None:
    """Flood the login and print the figures."""
    print(asyncio.run(flood(flood_size)))


if __name__ == "__main__":
    exit_with(main)
