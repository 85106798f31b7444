"""Point-in-time training rows: only events known at the cut-off count; labels from the truth and verdicts."""

from pathlib import Path

import numpy as np

from services.analytics.history import blocks, fast_event, parse_event, simulate_block
from services.analytics.household_events import cloudevent
from services.analytics.simulator import SimConfig
from services.analytics.training_set import TrainingSet, apply_verdicts, label, replay
from services.common.policy import PolicyBook
from services.common.settings import REPO_ROOT

POLICIES = PolicyBook.load(REPO_ROOT / "policy")
HID = "PIT1"


def _registration(time: str, annual: float = 40000.0) -> dict:
    data = {"household_id": HID, "region_code": "532328101001", "members": 4, "labourers": 2,
            "category": "poverty_exited", "annual_net_income": annual}  # fmt: skip
    return cloudevent(f"reg-{time}", "/civil-affairs/532328", "household.registered", time, data)


def _income(period: str, amount: float, time: str, event_id: str | None = None) -> dict:
    data = {"household_id": HID, "period": period, "amount": amount, "income_source": "wage"}
    return cloudevent(event_id or f"inc-{period}", "/civil-affairs/532328", "income.reported", time, data)


def _medical(day: str, paid: float, time: str) -> dict:
    data = {"household_id": HID, "date": day, "total_cost": paid * 2, "out_of_pocket": paid}
    return cloudevent(f"med-{day}", "/medical-insurance/532328", "medical.expense.incurred", time, data)


def _history() -> list[dict]:
    events = [_registration("2025-01-05T09:00:00+08:00")]
    events += [_income(f"2025-{m:02d}", 3000.0, f"2025-{m + 1:02d}-10T10:00:00+08:00") for m in range(1, 6)]
    return events


def _features_at(docs: list[dict], cutoff: str = "2025-05") -> dict[str, float]:
    return replay([parse_event(d) for d in docs], [cutoff], POLICIES)[cutoff].features


def test_events_after_the_cut_off_do_not_change_the_features():
    before = _features_at(_history())
    later = [
        _income("2025-05", 10.0, "2025-06-10T10:00:00+08:00", "inc-2025-05"),  # May's income, reported in June
        _medical("2025-05-20", 30000.0, "2025-06-02T17:00:00+08:00"),  # a May bill settled in June
        _income("2025-03", 0.0, "2025-07-01T10:00:00+08:00", "inc-correction"),  # a later correction of March
        _registration("2025-06-01T09:00:00+08:00", annual=1000.0),
    ]
    assert _features_at(_history() + later) == before
    changed = [dict(e) for e in _history()]
    changed[-1] = _income("2025-05", 1.0, "2025-06-10T10:00:00+08:00")  # the June report of May itself changed
    assert _features_at(changed) == before


def test_an_event_known_at_the_cut_off_does_change_the_features():
    before = _features_at(_history())
    known = _features_at([*_history(), _medical("2025-05-20", 30000.0, "2025-05-31T23:00:00+08:00")])
    assert known["medical_to_line"] > before["medical_to_line"] == 0


def test_simulated_events_replayed_as_facts_give_the_features_of_validated_events():
    config = SimConfig(households=40, seed=9)
    _, histories = simulate_block(config, blocks(config)[0])
    cutoffs = ["2025-03", "2025-08", "2025-12"]
    for _, docs in histories:
        fast = replay([fast_event(d) for d in docs], cutoffs, POLICIES)
        exact = replay([parse_event(d) for d in docs], cutoffs, POLICIES)
        assert {m: (s.features, s.rules_level) for m, s in fast.items()} == {
            m: (s.features, s.rules_level) for m, s in exact.items()
        }


def test_the_label_is_falling_below_within_twelve_months_and_households_below_at_the_cut_off_are_left_out():
    below = [0] * 5 + [1] + [0] * 18
    assert label(below, "2025-01", "2025-02") == (True, 4)
    assert label(below, "2025-01", "2025-06") is None  # below at the cut-off
    assert label(below, "2025-01", "2025-07") == (False, 0)
    assert label(below, "2025-01", "2025-12") == (False, 0)
    assert label(below, "2025-01", "2026-01") is None  # horizon not fully known


def test_township_verdicts_override_labels_whose_horizon_holds_the_decision():
    ts = TrainingSet(np.zeros((3, 14)), np.array([False, True, False]), np.array([0, 1, 0]), np.array(["532328"] * 3),
                     np.array([0, 0, 1]), np.zeros(3, int), np.zeros(3, int), ["2025-03", "2025-06"])  # fmt: skip
    verdicts = [
        {"household_id": "A", "decided_at": "2025-09-01T10:00:00+08:00", "verdict": "confirmed"},
        {"household_id": "B", "decided_at": "2027-01-01", "verdict": "confirmed"},
    ]
    assert apply_verdicts(ts, ["A", "B"], verdicts) == 2
    assert ts.y.tolist() == [True, True, False]
    apply_verdicts(ts, ["A", "B"], [{"household_id": "A", "decided_at": "2025-07-02", "verdict": "dismissed"}])
    assert ts.y.tolist() == [False, False, False]


def test_a_simulated_export_reads_back_as_the_same_events(tmp_path: Path):
    from services.analytics.history import read_jsonl, read_truth, write_simulation

    counts = write_simulation(SimConfig(households=20, seed=1), tmp_path / "e.jsonl", tmp_path / "t.jsonl")
    events = list(read_jsonl(tmp_path / "e.jsonl"))
    assert len(events) == counts["events"] and len(read_truth(tmp_path / "t.jsonl")) == 20
