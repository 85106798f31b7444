"""What an attacker reading Redis or a weak configuration would find, and work one request may make the API do."""

import sys

import httpx
import pytest
import redis
from pydantic import SecretStr, ValidationError

from services.api.app import create_app
from services.common.settings import ApiSettings
from tests.clients import create_user, login
from tests.infra import free_port, spawn, wait_until


@pytest.mark.integration
def test_a_webhook_secret_is_kept_encrypted_in_redis(stack):
    supervisor = create_user(stack, "sec.sealed", "county_supervisor", "532328")
    secret = "whsec-plain-text-0123456789"
    body = {"region_prefix": "532328101", "url": "http://127.0.0.1:9/sealed", "secret": secret}
    created = httpx.post(f"{stack.api_url}/subscriptions", json=body, headers=supervisor).json()
    stored = redis.Redis.from_url(stack.redis_url, decode_responses=True).hget(
        f"subscription:{created['id']}", "secret"
    )
    assert stored and secret not in stored and stored.startswith("fernet:")


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def narrow_audit_api(stack):
    """A second API process on the same Redis that reads at most 500 audit entries a request."""
    port = free_port()
    process = spawn("api-audit", [sys.executable, "-m", "services.api"],
                    {**stack.env, "API_PORT": str(port), "AUDIT_SCAN_ENTRIES": "500"})  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: ready(url), 90, "the second API ready")
    yield url
    process.stop()


@pytest.mark.integration
def test_an_audit_filter_matching_nothing_reads_a_bounded_share_of_the_trail_and_says_where_to_go_on(
    stack, narrow_audit_api
):
    client = redis.Redis.from_url(stack.redis_url)
    for n in range(1200):
        client.xadd("audit:log", {"at": "-", "user": f"sec.filler.{n}", "action": "alert.read", "region": "53"})
    page = httpx.get(f"{narrow_audit_api}/audit", params={"user": "sec.nobody"}, headers=login(stack)).json()
    assert page["items"] == [] and page["next"] is not None
    following = httpx.get(f"{narrow_audit_api}/audit", params={"user": "sec.nobody", "before": page["next"]},
                          headers=login(stack)).json()  # fmt: skip
    assert following["next"] is not None and following["next"] < page["next"]


def test_a_short_jwt_secret_or_a_weak_admin_password_stops_the_api_at_start():
    with pytest.raises(ValidationError, match="JWT_SECRET must be at least 32"):
        ApiSettings(jwt_secret=SecretStr("short-secret"))
    strong = SecretStr("unit-test-secret-0123456789abcdef0123")
    with pytest.raises(ValueError, match="ADMIN_PASSWORD: at least 12"):
        create_app(ApiSettings(jwt_secret=strong, admin_password=SecretStr("1234567890")))
    with pytest.raises(ValueError, match="ADMIN_PASSWORD: contains the username"):
        create_app(ApiSettings(jwt_secret=strong, admin_password=SecretStr("my-admin-passphrase")))
