"""Scoring builds its records with msgspec; consumers read them with the pydantic models of the score contract (field
by field: tests/unit/test_contract_fields.py)."""

import json
from datetime import UTC, datetime, timedelta, timezone

import msgspec

from services.common.score_records import FiguresRecord, ReasonRecord, ScoreRecord
from services.common.scores import Score


def test_a_score_record_reads_back_as_the_contract_s_score_with_the_same_values():
    record = ScoreRecord(
        score_id="s1",
        household_id="H1",
        region_code="532328101001",
        level="red",
        reasons=[ReasonRecord("income_below_threshold", "red", "低", "low", {"per_capita_income": 2400.0})],
        figures=FiguresRecord(
            members=4, income_12m=9600.0, per_capita_income=2400.0, months_reported=0, monitoring_line=8700.0
        ),  # fmt: skip
        policy_version="2025.2",
        model_version=None,
        scoring_mode="rules_only",
        caused_by=["/civil-affairs/532328#e1"],
        event_time=datetime(2025, 3, 1, 8, tzinfo=timezone(timedelta(hours=8))),
        scored_at=datetime(2025, 3, 1, 0, 0, 1, tzinfo=UTC),
    )
    encoded = msgspec.json.encode(record)
    assert json.loads(Score.from_json(encoded).model_dump_json()) == json.loads(encoded)
