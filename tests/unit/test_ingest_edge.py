"""Ingest's edge rules and helpers in isolation: key scopes, resident IDs in text, the partitioner."""

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from aiokafka.partitioner import DefaultPartitioner

from services.common.grants import IngestGrant
from services.common.identity import holds_resident_id
from services.common.kafka import partitions_of
from services.common.settings import IngestSettings
from services.ingest.screening import EventWindow
from tests.factories import resident_id


def grants(keys: str) -> dict[str, IngestGrant]:
    return IngestSettings(pseudonym_key="k", ingest_api_keys=keys).grants()  # type: ignore[arg-type]


def test_a_key_without_regions_may_write_any_region_and_one_with_regions_only_those_prefixes():
    parsed = grants("old=/civil-affairs, new=/medical-insurance@5323|110101")
    assert parsed["old"] == IngestGrant("/civil-affairs", None) and parsed["old"].covers_region("110101001001")
    assert parsed["new"].regions == ("5323", "110101")
    assert parsed["new"].covers_region("532328101001") and parsed["new"].covers_region("110101001001")
    assert not parsed["new"].covers_region("532401101001") and not parsed["new"].covers_region("53")
    assert IngestSettings(pseudonym_key="k", ingest_api_keys="a=/x@53").api_keys() == {"a": "/x"}  # type: ignore[arg-type]


@pytest.mark.parametrize("keys", ["secret-one=/x@", "secret-one=/x@53|a1", "secret-one=x", "secret-one"])
def test_a_malformed_key_entry_is_refused_by_its_position_without_printing_the_secret(keys):
    with pytest.raises(ValueError, match="entry 1") as refused:
        grants(keys)
    assert "secret-one" not in str(refused.value)


def test_resident_ids_are_found_in_any_spelling_but_other_long_numbers_are_not_taken_for_one():
    person = resident_id("11010519491231002")  # ends in X
    assert holds_resident_id(f"H{person}") and holds_resident_id(person.lower())
    assert holds_resident_id(person.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")))
    assert holds_resident_id(person[:4] + "\u200b" + person[4:]) and holds_resident_id(f"号码:{person},谢谢")
    assert not holds_resident_id("186493812746528358")  # a snowflake-style id: no birth date in it
    assert not holds_resident_id("9" + person)  # 19 digits: part of a longer number
    assert not holds_resident_id(person[:-1] + ("1" if person[-1] != "1" else "2"))  # wrong check digit


def test_the_batch_partitioner_picks_the_partition_kafkas_default_partitioner_picks():
    rng = random.Random(7)
    keys = [bytes(rng.randrange(256) for _ in range(rng.randrange(0, 30))) for _ in range(3000)]
    keys += [f"H{n:07d}".encode() for n in range(3000)]
    for count in (1, 6, 12):
        partitions = list(range(count))
        expected = [DefaultPartitioner()(key, partitions, partitions) for key in keys]
        assert partitions_of(keys, count) == expected
        for few in range(1, 16):  # a few keys are placed one by one, not vectorised
            assert partitions_of(keys[few * 100 : few * 100 + few], count) == expected[few * 100 : few * 100 + few]


def test_a_whole_year_s_income_period_is_held_to_the_same_window_as_its_months():
    window = EventWindow(date(2015, 1, 1), months_ahead=1, skew=timedelta(minutes=15))
    now = datetime(2026, 12, 2, tzinfo=UTC)
    assert [window.month_problem(year, now) for year in ("2015", "2025", "2027")] == [None, None, None]
    assert window.month_problem("2014", now) == "must not be before 2015"
    assert window.month_problem("2028", now) == "must not be after 2027"
    assert window.month_problem("9999", now) == "must not be after 2027"
