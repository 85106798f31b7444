"""The faust agent, driven through faust's test_context (no broker)."""

import asyncio
import json

from services.ingest.validation import validate_event
from services.scoring.app import app, households, score_households
from tests.factories import income, registration


def run_agent(*raws):
    async def scenario():
        async with score_households.test_context() as agent:
            results = []
            for raw in raws:
                event = validate_event(raw, b"k")
                await agent.put(event.to_json(), key=event.household_id.encode())
                results.append(dict(households[event.household_id]))
            return results

    app.finalize()
    app.conf.table_cleanup_interval = 1.0
    return asyncio.run(scenario())


def test_the_agent_keeps_household_state_in_its_table():
    states = run_agent(registration("HT1", 9600, members=4), income("HT1", "2025-03", 300))
    assert states[0]["profile"]["members"] == 4
    assert "2025-03|wage" in states[1]["incomes"]


def test_a_redelivered_event_leaves_the_table_unchanged():
    event = income("HT2", "2025-03", 300)
    states = run_agent(registration("HT2", 9600), event, event)
    assert states[1] == states[2]
    assert json.dumps(states[2]).count("2025-03|wage") == 1
