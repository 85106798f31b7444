"""Point-in-time training rows: only events known at the cut-off count; labels come from one label format."""

from datetime import date
from pathlib import Path

import pytest

from services.analytics.history import (
    blocks,
    fast_event,
    group,
    parse_event,
    read_jsonl,
    simulate_block,
    write_simulation,
)
from services.analytics.household_events import cloudevent
from services.analytics.labels import (
    LabelError,
    Labels,
    Outcome,
    as_of_date,
    read_outcomes,
    truth_outcomes,
    verdict_outcomes,
    write_outcomes,
)
from services.analytics.simulator import SimConfig
from services.analytics.training_set import build, replay, training_cutoffs
from services.common.policy import PolicyBook
from services.common.settings import REPO_ROOT

POLICIES = PolicyBook.load(REPO_ROOT / "policy")
HID = "PIT1"
MAY = date(2025, 5, 31)


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


def _features_at(docs: list[dict], cutoff: date = MAY) -> dict[str, float]:
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
    cutoffs = [date(2025, 3, 31), date(2025, 8, 31), date(2025, 12, 31)]
    for _, docs in histories:
        fast = replay([fast_event(d) for d in docs], cutoffs, POLICIES)
        exact = replay([parse_event(d) for d in docs], cutoffs, POLICIES)
        assert {m: (s.features, s.rules_level) for m, s in fast.items()} == {
            m: (s.features, s.rules_level) for m, s in exact.items()
        }


def _monthly(hid: str, below_months: set[int], months: int = 24) -> list[Outcome]:
    ends = [as_of_date(f"{2025 + m // 12}-{m % 12 + 1:02d}") for m in range(months)]
    return [Outcome(hid, d, "below_line" if m in below_months else "above_line") for m, d in enumerate(ends)]


def test_the_label_is_falling_below_within_the_horizon_and_households_below_at_the_cut_off_are_left_out():
    labels = Labels(_monthly("A", {5}))
    assert labels.row("A", date(2025, 2, 28), 12) == (True, 4)
    assert labels.row("A", date(2025, 6, 30), 12) is None  # below at the cut-off
    assert labels.row("A", date(2025, 7, 31), 12) == (False, 0)
    assert labels.row("A", date(2025, 12, 31), 12) == (False, 0)
    assert labels.row("A", date(2026, 1, 31), 12) is None  # horizon not fully known
    assert labels.row("A", date(2025, 3, 15), 12) is None  # standing not known on that day
    late_fall = Labels([*_monthly("A", set(), 18), Outcome("B", date(2025, 12, 31), "above_line"),
                        Outcome("B", date(2026, 6, 30), "below_line")])  # fmt: skip
    assert late_fall.row("B", date(2025, 12, 31), 12) is None  # the labels end before its horizon does


def test_a_township_verdict_in_the_horizon_decides_the_label():
    outcomes = [*_monthly("A", set()), *_monthly("B", {3})]
    verdicts = [
        {"household_id": "A", "decided_at": "2025-09-01T10:00:00+08:00", "verdict": "confirmed"},
        {"household_id": "B", "at": "2025-04-02T01:00:00+00:00", "kind": "dismissed"},  # an alerts.changes record
        {"household_id": "B", "decided_at": "2025-04-05", "verdict": "visited"},  # not a verdict: ignored
    ]
    labels = Labels([*outcomes, *verdict_outcomes(verdicts)])
    assert labels.row("A", date(2025, 3, 31), 12) == (True, 6)
    assert labels.row("A", date(2025, 9, 30), 12) == (False, 0)  # the decision is before this cut-off
    assert labels.row("B", date(2025, 1, 31), 12) == (False, 0)  # dismissed, although below in April


def test_labels_written_as_csv_or_jsonl_read_back_and_a_bad_line_names_line_household_and_field(tmp_path: Path):
    outcomes = [Outcome("H1", date(2025, 1, 31), "above_line"), Outcome("H1", date(2025, 2, 28), "below_line")]
    for name in ("labels.csv", "labels.jsonl"):
        write_outcomes(tmp_path / name, outcomes)
        assert list(read_outcomes(tmp_path / name)) == outcomes
    (tmp_path / "bad.csv").write_text("household_id,as_of,outcome\nH1,2025,above_line\nH2,2025-02,fell\n")
    with pytest.raises(LabelError, match="bad.csv line 3: household H2: outcome: 'fell'"):
        list(read_outcomes(tmp_path / "bad.csv"))


def test_labels_dated_after_train_until_change_no_training_row(tmp_path: Path):
    config = SimConfig(households=60, seed=4, months=36)
    write_simulation(config, tmp_path / "e.jsonl", tmp_path / "l.csv")
    grouped = group(read_jsonl(tmp_path / "e.jsonl"))
    until = date(2026, 12, 31)
    honest = Labels(read_outcomes(tmp_path / "l.csv")).until(until)
    future = [Outcome(o.household_id, o.as_of, "below_line") if o.as_of > until else o
              for o in read_outcomes(tmp_path / "l.csv")]  # fmt: skip
    rewritten = Labels(future).until(until)
    first = build(sorted(grouped.items()), honest, training_cutoffs(honest, until), POLICIES)
    second = build(sorted(grouped.items()), rewritten, training_cutoffs(rewritten, until), POLICIES)
    assert len(first) > 0 and (first.y == second.y).all() and (first.X == second.X).all()
    assert max(first.cutoffs) <= date(2025, 12, 31)  # each row's whole horizon ends by --train-until


def test_a_simulated_export_reads_back_as_the_same_events_and_monthly_labels(tmp_path: Path):
    counts = write_simulation(SimConfig(households=20, seed=1), tmp_path / "e.jsonl", tmp_path / "l.csv")
    events = list(read_jsonl(tmp_path / "e.jsonl"))
    labels = list(read_outcomes(tmp_path / "l.csv"))
    assert len(events) == counts["events"] and len(labels) == counts["labels"] == 20 * 24


def test_a_former_simulator_truth_file_reads_as_month_end_labels(tmp_path: Path):
    (tmp_path / "truth.jsonl").write_text('{"household_id": "A", "start": "2025-11", "below": [0, 1, 0]}\n')
    assert list(truth_outcomes(tmp_path / "truth.jsonl")) == [
        Outcome("A", date(2025, 11, 30), "above_line"),
        Outcome("A", date(2025, 12, 31), "below_line"),
        Outcome("A", date(2026, 1, 31), "above_line"),
    ]
