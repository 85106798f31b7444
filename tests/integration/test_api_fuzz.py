"""Schemathesis against the API's own OpenAPI, authenticated as an admin: no request gets a 5xx."""

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.clients import create_user

pytestmark = pytest.mark.integration
# The live stream never ends; subscriptions would send webhooks to whatever URL the fuzzer invents; a training
# job would take the machine's cores for minutes.
EXCLUDED = r"^/(alerts/stream|subscriptions.*|metrics|models/train)$"
EXAMPLES = 12


@pytest.fixture(scope="module")
def fuzz_admin(stack):
    """A regional admin (Yunnan, 53): it can never disable or reset the national admin other tests log in as."""
    return create_user(stack, "fuzz.admin", "admin", "53")


def server_errors(operation, stack, headers) -> list[str]:
    """Valid and invalid requests to one operation; each 5xx answer, described."""
    found: list[str] = []
    modes = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(case=modes)
    def run(case):
        response = case.call(base_url=stack.api_url, headers=headers, timeout=30)
        if response.status_code >= 500:
            found.append(f"{case.method} {case.formatted_path} {case.query} -> {response.status_code}: {response.text}")

    run()
    return found


def test_no_request_to_any_operation_gets_a_server_error(stack, fuzz_admin):
    document = httpx.get(f"{stack.api_url}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document).exclude(path_regex=EXCLUDED)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    failures = [error for operation in operations for error in server_errors(operation, stack, fuzz_admin)]
    assert failures == []
