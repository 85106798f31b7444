"""Which addresses a webhook may reach (services/alerts/targets.py), and the Standard Webhooks signature."""

import asyncio
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from services.alerts.targets import UnsafeTarget, allowed_hosts, refusal, resolve
from services.alerts.webhooks import signed_headers


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.7", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd00:ec2::254", "private"),  # unique-local: the AWS metadata service's IPv6 address
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("fe80::1", "link-local"),
        ("100.100.100.200", "not globally routable"),  # Alibaba Cloud's metadata service, in 100.64/10
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped: judged as the IPv4 address
        ("240.0.0.1", "reserved"),
    ],
)
def test_an_internal_address_is_refused_with_its_kind(address, why):
    assert refusal(address) == why


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "114.114.114.114"])
def test_a_public_address_is_allowed(address):
    assert refusal(address) is None


def test_a_host_resolving_to_loopback_is_refused_unless_allowlisted_and_then_reached_by_its_address():
    with pytest.raises(UnsafeTarget, match="loopback"):
        asyncio.run(resolve("http://localhost:8001/events", allowed_hosts("")))
    target = asyncio.run(resolve("https://localhost:8443/hook?x=1", allowed_hosts(" LOCALHOST , 10.0.0.1")))
    assert target.url.host in ("127.0.0.1", "::1") and target.url.path == "/hook" and target.url.port == 8443
    assert (target.host_header, target.server_name) == ("localhost:8443", "localhost")


def test_a_delivery_is_signed_over_id_timestamp_and_body_the_standard_webhooks_way():
    body = '{"change": {"kind": "raised"}}'
    headers = signed_headers("a-webhook-secret-0123456789", "change-1:sub-1", body, datetime.now(UTC))
    assert Webhook(b"a-webhook-secret-0123456789").verify(body, headers) == {"change": {"kind": "raised"}}
    replayed = {**headers, "webhook-id": "change-2:sub-1"}  # the same signature for another delivery fails
    with pytest.raises(Exception, match="signature"):
        Webhook(b"a-webhook-secret-0123456789").verify(body, replayed)
