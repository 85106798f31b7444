"""The faust agent, driven through faust's test_context (no broker: topic sends are captured)."""

import asyncio
import json
from unittest.mock import AsyncMock, patch

from services.common.scores import Score
from services.ingest.validation import validate_event
from services.scoring.app import app, households, score_households, scores
from services.scoring.state import decode_state
from tests.factories import income, registration


def run_agent(*raws):
    """Feed events to the agent; return the table value after each and the scores it sent."""

    async def scenario():
        async with score_households.test_context() as agent:
            states = []
            for raw in raws:
                event = validate_event(raw, b"k")
                await agent.put(event.to_json(), key=event.household_id.encode())
                states.append(decode_state(households[event.household_id]).model_dump(mode="json"))
            return states

    app.finalize()
    app.flow_control.resume()
    with patch.object(scores, "send", AsyncMock()) as sent:
        states = asyncio.run(scenario())
    return states, [Score.from_json(call.kwargs["value"]) for call in sent.await_args_list]


def test_the_agent_keeps_household_state_in_its_table_and_scores_the_change():
    states, sent = run_agent(registration("HT1", 9600, members=4), income("HT1", "2025-03", 300))
    assert states[0]["profile"]["members"] == 4
    assert "2025-03|wage" in states[1]["incomes"]
    assert [score.level for score in sent] == ["red", "red"]
    assert sent[1].figures.income_12m == 9600 - 800 + 300


def test_a_redelivered_event_leaves_the_table_unchanged_and_sends_nothing_new():
    event = income("HT2", "2025-03", 300)
    states, sent = run_agent(registration("HT2", 9600), event, event)
    assert states[1] == states[2]
    assert json.dumps(states[2]).count("2025-03|wage") == 1
    assert len(sent) == 2


def test_a_correction_and_an_out_of_order_month_land_in_the_right_place():
    states, sent = run_agent(
        registration("HT3", 0, members=1),
        income("HT3", "2025-05", 700, time="2025-05-30T00:00:00Z"),
        income("HT3", "2025-03", 300, time="2025-06-02T00:00:00Z"),  # a late March report
        income("HT3", "2025-05", 500, time="2025-06-05T00:00:00Z"),  # corrects May
    )
    assert {key: value["amount"] for key, value in states[-1]["incomes"].items()} == {
        "2025-05|wage": 500,
        "2025-03|wage": 300,
    }
    assert sent[-1].figures.income_12m == 800 and sent[-1].figures.months_reported == 2
