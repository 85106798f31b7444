"""The console and the API answer with strict security headers: no framing, no inline script, no sniffing."""

import httpx
import pytest

from tests.clients import login

pytestmark = pytest.mark.integration


def directives(response: httpx.Response) -> dict[str, list[str]]:
    """The Content-Security-Policy of a response, directive -> sources."""
    policy = response.headers.get("content-security-policy", "")
    parts = [part.split() for part in policy.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


def test_the_console_and_every_api_answer_forbid_framing_inline_script_and_sniffing(stack):
    responses = [
        httpx.get(f"{stack.api_url}/", timeout=30),
        httpx.get(f"{stack.api_url}/console/app.js", timeout=30),
        httpx.get(f"{stack.api_url}/alerts", headers=login(stack), timeout=30),
        httpx.get(f"{stack.api_url}/alerts", timeout=30),  # a 401
    ]
    for response in responses:
        csp = directives(response)
        assert csp["default-src"] == ["'self'"] and csp["script-src"] == ["'self'"], response.url
        assert csp["style-src"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
        assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "no-store" in response.headers["cache-control"]


def test_only_the_openapi_pages_may_load_their_script_from_the_cdn_and_they_cannot_be_framed_either(stack):
    docs = httpx.get(f"{stack.api_url}/docs", timeout=30)
    csp = directives(docs)
    assert "https://cdn.jsdelivr.net" in csp["script-src"] and csp["frame-ancestors"] == ["'none'"]
    assert docs.headers["x-frame-options"] == "DENY"
    assert "https://cdn.jsdelivr.net" not in directives(httpx.get(f"{stack.api_url}/", timeout=30))["script-src"]
