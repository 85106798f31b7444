"""The income-drop rule compares income per person, with the household's size as registered in each period."""

from services.common.policy import PolicyBook
from services.common.settings import REPO_ROOT
from services.ingest.validation import validate_event
from services.scoring.rules import assess
from services.scoring.state import HouseholdState, apply_event, decode_state, encode_state
from tests.factories import income, registration

POLICY = PolicyBook.load(REPO_ROOT / "policy").for_region("532328101001", 2025)


def state_after(*raws) -> HouseholdState:
    state = HouseholdState()
    for raw in raws:
        state = apply_event(state, validate_event(raw, b"k"))
    return state


def history(members_before: int, members_after: int, before: float, after: float) -> HouseholdState:
    return state_after(
        registration("D", 400000, members=members_before, time="2024-01-05T09:00:00+08:00"),
        *(income("D", f"2024-{m:02d}", before) for m in (4, 5, 6)),
        registration("D", 400000, members=members_after, time="2025-01-05T09:00:00+08:00"),
        *(income("D", f"2025-{m:02d}", after) for m in (4, 5, 6)),
    )


def codes(state: HouseholdState) -> dict[str, str]:
    assessment = assess(state, POLICY)
    assert assessment is not None
    return {reason.code: reason.level for reason in assessment.reasons}


def test_a_member_who_leaves_with_their_income_is_no_income_drop():
    state = history(4, 3, 20000, 14000)  # 30 % less in all, but 5,000 → 4,667 a person
    assert "income_drop" not in codes(state)
    assert decode_state(encode_state(state)) == state and state.members_in("2024-06") == 4


def test_a_newborn_with_slightly_less_income_is_a_drop_per_person_and_says_so():
    state = history(3, 4, 20000, 18000)  # 10 % less in all, 6,667 → 4,500 a person: 32.5 % less
    assessment = assess(state, POLICY)
    assert assessment is not None
    reason = next(r for r in assessment.reasons if r.code == "income_drop")
    assert reason.evidence["drop_ratio"] == 0.325 and reason.evidence["members_earlier"] == 3
    assert "from 3 to 4 members" in reason.message_en and "由3人变为4人" in reason.message_zh
