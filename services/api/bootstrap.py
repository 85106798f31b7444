"""The first admin at start-up: created from ADMIN_PASSWORD, or rotated to it when it changed (audited)."""

from __future__ import annotations

from services.api.dependencies import ApiServices
from services.api.users import ADMIN_USERNAME

ROTATE_HINT = ".venv/bin/python -m services.api.cli rotate-password admin"


async def apply_admin_password(services: ApiServices) -> None:
    """Make the admin account follow ADMIN_PASSWORD; with ADMIN_LOGIN_HINT (`make run`) say which login works."""
    settings, users = services.settings, services.users
    password = settings.admin_password.get_secret_value() if settings.admin_password else None
    done, generated = await users.ensure_admin(password)
    if generated:
        print(f"First admin created: username admin, password {generated} (shown once)", flush=True)
    if done == "rotated":
        await services.audit.record("ADMIN_PASSWORD", "user.password_rotated", f"user:{ADMIN_USERNAME}", region="")
        await services.refresh.revoke_all(ADMIN_USERNAME)
        await services.throttle.clear(ADMIN_USERNAME)
    if settings.admin_login_hint and password is not None:
        if await users.authenticate(ADMIN_USERNAME, password) is not None:
            print(f"Login: admin / {password}", flush=True)
        else:
            print(f"Login: admin (its password was changed since ADMIN_PASSWORD was set; {ROTATE_HINT})", flush=True)
