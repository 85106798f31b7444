"""Seeded household simulator: incomes around the monitoring line, shocks, the events they produce, the truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from services.common.months import month_shift
from services.common.policy import PolicyBook
from services.common.settings import REPO_ROOT

# Counties of Chuxiong prefecture, Yunnan (prefix 53: the 2025 line of 8,700 applies).
COUNTIES = ("532322", "532323", "532324", "532325", "532326", "532327", "532328", "532329")
CAUSES = ("illness", "disability", "disaster", "job_loss", "low_income")
# The risk type (风险类型, services/common/risk_types.py) each simulated cause is, for the labels.
RISK_TYPE_OF_CAUSE = {"illness": "illness", "disability": "disability", "disaster": "disaster",
                      "job_loss": "unstable_employment", "low_income": "unstable_income"}  # fmt: skip
SEASONALITY = np.array([0.75, 0.8, 0.9, 0.95, 1.0, 1.05, 1.05, 1.1, 1.2, 1.3, 1.0, 0.9])
WARMUP = 12  # months simulated before the history starts, so the first months have a 12-month past


@dataclass(frozen=True)
class Shocks:
    """Shock rates and sizes (yearly rates; published sizes where there are some, see docs/analysts.md)."""

    illness_rate: tuple[float, float] = (0.10, 0.18)  # without / with chronically ill members
    illness_income_loss: tuple[float, float] = (0.06, 0.13)
    illness_out_of_pocket_median: float = 3500.0
    critical_share: float = 0.2  # critical illnesses cost about three times more
    disability_rate: float = 0.02
    disaster_village_rate: float = 0.1  # a village is hit about once in 10 years, mostly in the rainy season
    disaster_affected: float = 0.6
    disaster_income_loss: tuple[float, float] = (0.11, 0.17)
    job_loss_rate: float = 0.08
    job_loss_income_loss: tuple[float, float] = (0.25, 0.45)
    application_rate: float = 0.1  # households that apply for help themselves after a shock


@dataclass(frozen=True)
class SimConfig:
    """What to simulate."""

    households: int = 1000
    seed: int = 7
    start: str = "2025-01"
    months: int = 24
    counties: tuple[str, ...] = COUNTIES
    townships: int = 10
    villages: int = 10
    policy_dir: Path = REPO_ROOT / "policy"
    shocks: Shocks = field(default_factory=Shocks)
    id_prefix: str = "SIM"
    income_scale: float = 1.0  # every household's income times this (a drifted feed: e.g. 0.6 after a bad harvest)

    @property
    def month_names(self) -> list[str]:
        """The history's months, `YYYY-MM`."""
        return [month_shift(self.start, i) for i in range(self.months)]


@dataclass
class World:
    """Villages, county income levels and the (spatially correlated) disasters, shared by every household."""

    config: SimConfig

    @cached_property
    def villages(self) -> list[str]:
        """12-digit region codes of every village."""
        c = self.config
        return [
            f"{co}{100 + t:03d}{v:03d}"
            for co in c.counties
            for t in range(1, c.townships + 1)
            for v in range(1, c.villages + 1)
        ]

    @cached_property
    def county_level(self) -> np.ndarray:
        """Income multiplier per county."""
        return np.random.default_rng([self.config.seed, 1]).uniform(0.85, 1.15, len(self.config.counties))

    @cached_property
    def disasters(self) -> np.ndarray:
        """Village × month: 0 = no disaster, else the hazard's index in HAZARDS + 1."""
        c, rng = self.config, np.random.default_rng([self.config.seed, 2])
        months = WARMUP + c.months
        calendar = np.array([(int(month_shift(c.start, t - WARMUP)[5:]) - 1) for t in range(months)])
        rainy = np.isin(calendar, [5, 6, 7, 8]).astype(float)
        hazard = c.shocks.disaster_village_rate / 12 * (0.4 + 2.0 * rainy)
        hit = rng.random((len(self.villages), months)) < hazard
        return np.where(hit, rng.integers(1, len(HAZARDS) + 1, hit.shape), 0)

    def line(self, region_code: str, month: str) -> float:
        """The monitoring line in force (policy values depend on the county prefix and the year)."""
        key = (region_code[:6], month[:4])
        if key not in self._lines:
            self._lines[key] = float(self._book.for_region(region_code, int(month[:4])).values.monitoring_line)
        return self._lines[key]

    @cached_property
    def _lines(self) -> dict[tuple[str, str], float]:
        return {}

    @cached_property
    def _book(self) -> PolicyBook:
        return PolicyBook.load(self.config.policy_dir)


HAZARDS = ("flood", "drought", "earthquake", "landslide", "hail")


@dataclass
class Cohort:
    """A block of simulated households: profiles, true monthly income, shocks and the truth per month."""

    ids: list[str]
    village: np.ndarray
    region: list[str]
    members: np.ndarray
    labourers: np.ndarray
    disabled: np.ndarray
    chronic: np.ndarray
    students: np.ndarray
    category: list[str]
    income: np.ndarray  # households × (WARMUP + months), yuan
    out_of_pocket: np.ndarray  # households × months, medical costs paid
    total_cost: np.ndarray
    critical: np.ndarray  # bool, per illness month
    disaster: np.ndarray  # hazard index + 1 or 0
    damage: np.ndarray  # 0 none, 1 minor, 2 severe, 3 collapsed
    disability_month: np.ndarray  # -1 if none
    losses: dict[str, np.ndarray]  # cause → income lost per month
    below: np.ndarray  # households × history months: true 12-month income after medical costs < line
    cause: np.ndarray  # households × history months: index in CAUSES, -1 when not below
    lines: np.ndarray  # households × history months


def _spread(rng: np.random.Generator, onsets: np.ndarray, length: np.ndarray | int, size: np.ndarray) -> np.ndarray:
    """Per household-month share of income lost, from shock onsets that last `length` months."""
    out = np.zeros(onsets.shape)
    for h, t in zip(*np.nonzero(onsets), strict=True):
        span = length if isinstance(length, int) else int(length[h, t])
        out[h, t : t + span] = np.maximum(out[h, t : t + span], size[h, t])
    return out


def simulate_cohort(world: World, block: int, start: int, stop: int) -> Cohort:
    """Simulate households `start`..`stop` (block `block` has its own random stream)."""
    c, s = world.config, world.config.shocks
    rng = np.random.default_rng([c.seed, 100 + block])
    n, total = stop - start, WARMUP + c.months
    village = rng.integers(len(world.villages), size=n)
    region = [world.villages[v] for v in village]
    county = village // (c.townships * c.villages)
    members = rng.choice(np.arange(1, 7), size=n, p=[0.1, 0.17, 0.22, 0.25, 0.16, 0.1])
    labourers = np.minimum(rng.binomial(members, 0.6), members)
    disabled = rng.binomial(members, 0.04)
    chronic = rng.binomial(members, 0.08)
    students = np.minimum(rng.binomial(members, 0.2), members - labourers)
    category = rng.choice(["poverty_exited", "ordinary", "monitored"], size=n, p=[0.45, 0.5, 0.05])
    line0 = np.array([world.line(r, c.start) for r in region])
    level = np.where(category == "ordinary", np.log(1.85), np.log(1.5))
    labour_share = labourers / members
    per_capita = line0 * np.exp(rng.normal(level, 0.4)) * world.county_level[county] * (0.7 + 0.5 * labour_share)
    per_capita *= (1 - 0.5 * disabled / members) * c.income_scale
    months = np.array([int(month_shift(c.start, t - WARMUP)[5:]) - 1 for t in range(total)])
    growth = 1.035 ** (np.arange(total) / 12)
    base = (per_capita * members)[:, None] / 12 * SEASONALITY[months][None, :] / SEASONALITY.mean() * growth[None, :]
    base *= rng.lognormal(0, 0.12, (n, total))

    monthly = lambda yearly: 1 - (1 - np.asarray(yearly)) ** (1 / 12)  # noqa: E731
    ill_rate = np.where(chronic > 0, s.illness_rate[1], s.illness_rate[0])
    ill = rng.random((n, total)) < monthly(ill_rate)[:, None]
    ill_loss = _spread(rng, ill, 12, rng.uniform(*s.illness_income_loss, (n, total)))
    critical = ill & (rng.random((n, total)) < s.critical_share)
    oop = np.where(ill, rng.lognormal(np.log(s.illness_out_of_pocket_median), 0.7, (n, total)), 0.0)
    oop = np.round(np.where(critical, oop * 3, oop), 2)
    total_cost = np.round(oop / rng.uniform(0.3, 0.5, (n, total)), 2)

    first_disabled = rng.random((n, total)) < monthly(s.disability_rate)
    first_disabled &= (labourers > 0)[:, None]
    disability_month = np.where(first_disabled.any(1), first_disabled.argmax(1), -1)
    labour_loss = np.zeros((n, total))
    for h in np.nonzero(disability_month >= 0)[0]:
        labour_loss[h, disability_month[h] :] = min(0.8, 0.75 / labourers[h])

    disaster = np.where(rng.random((n, total)) < s.disaster_affected, world.disasters[village], 0)
    dis_loss = _spread(rng, disaster > 0, 12, rng.uniform(*s.disaster_income_loss, (n, total)))
    damage = np.where(disaster > 0, rng.choice(4, size=(n, total), p=[0.45, 0.3, 0.18, 0.07]), 0)

    job = (rng.random((n, total)) < monthly(s.job_loss_rate)) & (labourers > 0)[:, None]
    job_loss = _spread(rng, job, rng.integers(3, 10, (n, total)), rng.uniform(*s.job_loss_income_loss, (n, total)))

    shares = {"illness": ill_loss, "disability": labour_loss, "disaster": dis_loss, "job_loss": job_loss}
    kept = np.prod([1 - share for share in shares.values()], axis=0)
    income = np.round(base * kept, 2)
    losses = {name: base * share for name, share in shares.items()}
    losses["illness"] = losses["illness"] + oop
    ids = [f"{c.id_prefix}{b:07d}" for b in range(start, stop)]
    cohort = Cohort(
        ids, village, region, members, labourers, disabled, chronic, students, list(category), income,
        oop, total_cost, critical, disaster, damage, disability_month, losses,
        np.zeros((n, c.months), bool), np.full((n, c.months), -1), np.zeros((n, c.months)),
    )  # fmt: skip
    _truth(world, cohort, base)
    return cohort


def _trailing(values: np.ndarray, months: int) -> np.ndarray:
    """Sum over the 12 months ending at each history month."""
    cum = np.cumsum(values, axis=1)
    padded = np.concatenate([np.zeros((values.shape[0], 1)), cum], axis=1)
    ends = np.arange(WARMUP, WARMUP + months) + 1
    return padded[:, ends] - padded[:, ends - 12]


def _truth(world: World, cohort: Cohort, base: np.ndarray) -> None:
    """Below the line = true 12-month income less medical costs, per person, under the line in force."""
    c = world.config
    names = c.month_names
    cohort.lines = np.array([[world.line(r, m) for m in names] for r in cohort.region])
    after = (_trailing(cohort.income, c.months) - _trailing(cohort.out_of_pocket, c.months)) / cohort.members[:, None]
    cohort.below = after < cohort.lines
    without_shocks = _trailing(base, c.months) / cohort.members[:, None]
    loss = np.stack([_trailing(cohort.losses[name], c.months) for name in CAUSES[:-1]])
    biggest = loss.argmax(0)
    structural = (without_shocks < cohort.lines) | (loss.max(0) <= 0)
    cohort.cause = np.where(cohort.below, np.where(structural, len(CAUSES) - 1, biggest), -1)


def fall_causes(cohort: Cohort) -> dict[str, int]:
    """Households that fall below the line (above in one month, below the next), by the cause of the first fall."""
    counts = dict.fromkeys(CAUSES, 0)
    falls = cohort.below[:, 1:] & ~cohort.below[:, :-1]
    for h in np.nonzero(falls.any(1))[0]:
        counts[CAUSES[cohort.cause[h, 1 + falls[h].argmax()]]] += 1
    return counts


def cause_mix(counts: list[dict[str, int]]) -> dict[str, float]:
    """Share of each cause among households that fall below the line."""
    total = {name: sum(c[name] for c in counts) for name in CAUSES}
    return {name: count / (sum(total.values()) or 1) for name, count in total.items()}
