"""Discovery (边缘户排查): a person whose records match no registered household, but whose costs cross a trigger."""

from __future__ import annotations

import hashlib
from datetime import datetime

from pydantic import BaseModel, Field

from services.common.events import HouseholdEvent, MedicalExpenseIncurred
from services.common.months import window
from services.common.policy import PolicyBook
from services.common.scores import Figures, Reason, RiskTypeProposal, Score

DISCOVERY_PREFIX = "unregistered-"


class PersonRecords(BaseModel):
    """What scoring keeps of one unmatched person (pseudonymised): their bills and where they live."""

    out_of_pocket: dict[str, tuple[str, float]] = Field(default_factory=dict)  # event key → (date, yuan)
    region_code: str | None = None
    scored: bool = False


def apply_person_event(records: PersonRecords, event: HouseholdEvent) -> PersonRecords:
    """Add a person-level bill once per event; the latest known region code is kept."""
    data = event.data
    if not isinstance(data, MedicalExpenseIncurred) or event.key in records.out_of_pocket:
        return records
    bills = {**records.out_of_pocket, event.key: (data.date.isoformat(), float(data.out_of_pocket))}
    return records.model_copy(update={"out_of_pocket": bills, "region_code": data.region_code or records.region_code})


def discovery_score(records: PersonRecords, person: str, policies: PolicyBook, now: datetime) -> Score | None:
    """A score for a possibly unregistered household once the person's costs cross the policy's discovery trigger."""
    if records.scored or records.region_code is None or not records.out_of_pocket:
        return None
    latest = max(date for date, _ in records.out_of_pocket.values())[:7]
    policy = policies.for_region(records.region_code, int(latest[:4]))
    values = policy.values
    first = window(latest, values.income_window_months)[-1]
    paid = round(sum(amount for date, amount in records.out_of_pocket.values() if date[:7] >= first), 2)
    trigger = float(values.discovery_medical_trigger)
    if paid <= trigger:
        return None
    reason = Reason(
        code="unregistered_medical_burden",
        level=values.levels.unregistered_medical_burden,
        message_zh=f"医保数据显示一名未登记在册的居民近{values.income_window_months}个月医疗自付{paid:,.0f}元，超过{trigger:,.0f}元，"
        "可能是未纳入监测的困难户，请入户排查",
        message_en=f"medical insurance records show a resident of no registered household paid {paid:,.0f} yuan "
        f"out of pocket in {values.income_window_months} months, above the {trigger:,.0f} yuan trigger: "
        "visit to check the household",
        evidence={"medical_out_of_pocket_12m": paid, "trigger": trigger, "person": person},
    )
    cause = RiskTypeProposal(
        risk_type=values.risk_type_rules.medical_other,
        reason=reason.code,
        evidence="medical_other",
        level=reason.level,
        message_zh=f"医疗自付{paid:,.0f}元（近{values.income_window_months}个月）",
        message_en=f"{paid:,.0f} yuan of medical costs in {values.income_window_months} months",
        amount=paid,
    )
    line = float(policy.values.monitoring_line)
    return Score(
        score_id=hashlib.sha256(f"{person}\n{sorted(records.out_of_pocket)}".encode()).hexdigest()[:32],
        household_id=DISCOVERY_PREFIX + person.removeprefix("psn_")[:24],
        region_code=records.region_code,
        level=reason.level,
        reasons=[reason],
        figures=Figures(
            members=1,
            income_12m=0,
            per_capita_income=0,
            months_reported=0,
            monitoring_line=line,
            medical_out_of_pocket_12m=paid,
        ),
        proposed_category=values.proposed_categories.unregistered_household,
        policy_version=policy.version,
        model_version=None,
        scoring_mode="rules_only",
        caused_by=sorted(records.out_of_pocket),
        event_time=datetime.fromisoformat(f"{latest}-01T00:00:00+00:00"),
        scored_at=now,
        risk_type_proposals=[cause],
    )
