"""Where a webhook may go: public internet addresses only, unless an admin allowlists the host (SSRF guard).

A subscription's host is resolved and every address it resolves to is checked when the subscription is created and
again at each delivery, which then connects to the address it checked (the Host header and TLS SNI keep the name),
so a name that later resolves elsewhere (DNS rebinding) cannot reach an internal service. Refused: loopback,
private (RFC 1918, unique-local fc00::/7), link-local (169.254/16, fe80::/10, so the cloud metadata address too),
shared (100.64/10, where Alibaba Cloud's metadata service lives), multicast, reserved and unspecified addresses,
and anything else that is not globally routable; an IPv4-mapped IPv6 address is judged as the IPv4 one.
`WEBHOOK_ALLOWED_HOSTS` (host names or addresses, comma-separated) lifts the check for those hosts only.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

_KINDS = (  # the first that applies names the refusal (a loopback address is private too, for one)
    ("loopback", "is_loopback"),
    ("link-local", "is_link_local"),
    ("unspecified", "is_unspecified"),
    ("multicast", "is_multicast"),
    ("reserved", "is_reserved"),
    ("private", "is_private"),
)


class UnsafeTarget(ValueError):
    """The URL's host is unknown, or resolves to an address webhooks may not reach."""


@dataclass(frozen=True)
class Target:
    """A checked destination: the URL to request (its host replaced by the address) and the name to present."""

    url: httpx.URL
    host_header: str
    server_name: str


def allowed_hosts(setting: str) -> frozenset[str]:
    """The hosts of `WEBHOOK_ALLOWED_HOSTS` (lower case, brackets of IPv6 addresses removed)."""
    return frozenset(h.strip().strip("[]").lower() for h in setting.split(",") if h.strip())


def refusal(address: str) -> str | None:
    """Why webhooks may not reach this address (e.g. "loopback"), or None for a public one."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, test in _KINDS:
        if getattr(ip, test):
            return kind
    return None if ip.is_global else "not globally routable"


async def resolve(url: str, allowed: frozenset[str]) -> Target:
    """Resolve the URL's host and check every address; raises UnsafeTarget naming the address and why."""
    parsed = httpx.URL(url)
    host = parsed.host.lower()
    if parsed.scheme not in ("http", "https") or not host:
        raise UnsafeTarget("only http and https URLs with a host")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeTarget(f"the host {host} cannot be resolved: {exc}") from None
    addresses = sorted({str(info[4][0]) for info in found})
    if not addresses:
        raise UnsafeTarget(f"the host {host} resolves to no address")
    if host not in allowed:
        for address in addresses:
            if (why := refusal(address)) is not None:
                raise UnsafeTarget(f"{host} resolves to {address}, a {why} address: webhooks go to public addresses")
    host_header = host if parsed.port is None else f"{host}:{parsed.port}"
    return Target(parsed.copy_with(host=addresses[0]), host_header, host)
