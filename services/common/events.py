"""The v1 event contract: CloudEvents envelope and one typed data model per event type."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from services.common.identity import PSEUDONYM_PREFIX, validate_resident_id
from services.common.money import checked_amount

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PSEUDONYM = re.compile(rf"^{PSEUDONYM_PREFIX}[0-9a-f]{{40}}$")


def _iso_date(value: Any) -> Any:
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError("must be a date YYYY-MM-DD")
    return value


def _person_ref(value: str) -> str:
    if _PSEUDONYM.match(value):
        return value
    return validate_resident_id(value)


# What the OpenAPI documents say of these values (their validators are functions JSON Schema cannot see).
_MONEY_SCHEMA = {"type": "number", "minimum": 0, "maximum": 1e12, "multipleOf": 0.01,
                 "description": "yuan, a JSON number, at most 2 decimals"}  # fmt: skip
Money = Annotated[
    Decimal,
    BeforeValidator(checked_amount),
    PlainSerializer(float, return_type=float, when_used="json"),
    WithJsonSchema(_MONEY_SCHEMA),
]
EventDate = Annotated[date, BeforeValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})]
HouseholdId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
RegionCode = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
# An income period: a month `YYYY-MM`, or a whole year `YYYY` (v1 addition: survey panels report yearly income)
IncomePeriod = Annotated[str, StringConstraints(pattern=r"^\d{4}(-(0[1-9]|1[0-2]))?$")]
PersonRef = Annotated[
    str,
    StringConstraints(strip_whitespace=True),
    AfterValidator(_person_ref),
    WithJsonSchema({"type": "string", "pattern": r"^(\d{17}[\dXx]|" + PSEUDONYM_PREFIX + r"[0-9a-f]{40})$",
                    "description": "an 18-character resident ID number (GB 11643, its check digit checked) or a "
                                   "pseudonym"}),
]  # fmt: skip
HouseholdCategory = Literal["poverty_exited", "ordinary", "monitored"]
IncomeSource = Literal["wage", "agriculture", "business", "property", "transfer", "other"]
Illness = Literal["chronic", "critical", "acute", "other"]
Hazard = Literal["flood", "drought", "earthquake", "landslide", "typhoon", "hail", "fire", "other"]
HouseDamage = Literal["none", "minor", "severe", "collapsed"]
SchoolStage = Literal["preschool", "compulsory", "senior_secondary", "vocational", "tertiary", "other"]


class EventData(BaseModel):
    """Base of every event's data: unknown fields are refused, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    household_id: HouseholdId


class HouseholdRegistered(EventData):
    """A household's registration, or an update of it."""

    region_code: RegionCode
    members: StrictInt = Field(ge=1, le=30)
    labourers: StrictInt = Field(ge=0)
    category: HouseholdCategory
    annual_net_income: Money
    disabled_members: StrictInt | None = Field(default=None, ge=0)
    chronic_ill_members: StrictInt | None = Field(default=None, ge=0)
    students: StrictInt | None = Field(default=None, ge=0)
    housing_safe: StrictBool | None = None
    water_safe: StrictBool | None = None
    head_id: PersonRef | None = None
    member_ids: list[PersonRef] | None = Field(default=None, max_length=30)

    @model_validator(mode="after")
    def _counts_fit_members(self) -> HouseholdRegistered:
        for name in ("labourers", "disabled_members", "chronic_ill_members", "students"):
            count = getattr(self, name)
            if count is not None and count > self.members:
                raise ValueError(f"{name} ({count}) must not exceed members ({self.members})")
        return self


class IncomeReported(EventData):
    """Net income of one month (`period` YYYY-MM), or of a whole year (`period` YYYY), from one source."""

    period: IncomePeriod
    amount: Money
    income_source: IncomeSource = "other"


class MedicalExpenseIncurred(EventData):
    """A medical bill and what the household paid after all insurance tiers; person-level when only member_id."""

    household_id: HouseholdId | None = None  # type: ignore[assignment]  # resolved from member_id by ingest
    region_code: RegionCode | None = None  # where the person lives, for records that match no household
    date: EventDate
    total_cost: Money
    out_of_pocket: Money
    member_id: PersonRef | None = None
    illness: Illness | None = None
    inpatient: StrictBool | None = None

    @model_validator(mode="after")
    def _out_of_pocket_within_total(self) -> MedicalExpenseIncurred:
        if self.household_id is None and self.member_id is None:
            raise ValueError("household_id or member_id is required")
        if self.out_of_pocket > self.total_cost:
            raise ValueError("out_of_pocket must not exceed total_cost")
        return self


class DisasterLossReported(EventData):
    """A disaster's damage to the household's house and property."""

    date: EventDate
    hazard: Hazard
    house_damage: HouseDamage
    economic_loss: Money


class EducationExpenseIncurred(EventData):
    """Schooling costs of a household's student and what the household paid after education aid (a v1 addition)."""

    date: EventDate
    total_cost: Money
    out_of_pocket: Money
    stage: SchoolStage | None = None

    @model_validator(mode="after")
    def _out_of_pocket_within_total(self) -> EducationExpenseIncurred:
        if self.out_of_pocket > self.total_cost:
            raise ValueError("out_of_pocket must not exceed total_cost")
        return self


class AssistanceRequested(EventData):
    """The household's own application for help (农户自主申报)."""

    date: EventDate
    reason: str = Field(min_length=1, max_length=500)


DATA_MODELS: dict[str, type[EventData]] = {
    "household.registered": HouseholdRegistered,
    "income.reported": IncomeReported,
    "medical.expense.incurred": MedicalExpenseIncurred,
    "disaster.loss.reported": DisasterLossReported,
    "assistance.requested": AssistanceRequested,
    "education.expense.incurred": EducationExpenseIncurred,
}
EventType = Literal[
    "household.registered",
    "income.reported",
    "medical.expense.incurred",
    "disaster.loss.reported",
    "assistance.requested",
    "education.expense.incurred",
]


class Envelope(BaseModel):
    """CloudEvents 1.0 attributes accepted by v1 (no extension attributes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"]
    id: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=256, pattern=r"^[^\s]+$")
    type: EventType
    time: AwareDatetime
    subject: str | None = None
    datacontenttype: Literal["application/json"] | None = None
    data: dict[str, Any]


class HouseholdEvent(BaseModel):
    """A validated, pseudonymised event as it travels on the canonical topic."""

    model_config = ConfigDict(frozen=True)

    id: str
    source: str
    type: EventType
    time: datetime
    data: EventData
    accepted_at: datetime

    @property
    def key(self) -> str:
        """The event's identity: ids are unique per source."""
        return f"{self.source}#{self.id}"

    @property
    def household_id(self) -> str:
        """The household the event is about (the Kafka key); person-level events get it from ingest."""
        if self.data.household_id is None:
            raise ValueError(f"event {self.key} is not matched to a household yet")
        return self.data.household_id

    @property
    def person(self) -> str | None:
        """The pseudonymised person of a person-level event that names no household."""
        member = self.data.__dict__.get("member_id")  # not every event type has the field
        return member if self.data.household_id is None and isinstance(member, str) else None

    def matched_to(self, household_id: str) -> HouseholdEvent:
        """This person-level event, now belonging to `household_id`."""
        return self.model_copy(update={"data": self.data.model_copy(update={"household_id": household_id})})

    def to_json(self) -> bytes:
        """Serialise for the canonical topic."""
        doc = self.model_dump(mode="json", exclude={"data"})
        doc["data"] = self.data.model_dump(mode="json", exclude_none=True)
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> HouseholdEvent:
        """Parse a canonical-topic message back into typed form."""
        doc: dict[str, Any] = json.loads(raw)
        doc["data"] = DATA_MODELS[doc["type"]].model_validate(doc["data"])
        return cls.model_validate(doc)
