"""Month arithmetic, the one copy every service uses."""

from datetime import date

from services.common.months import add_months, last_day, month_index, month_of, month_shift, months_between, months_from


def test_a_month_moves_across_years_both_ways():
    assert month_shift("2024-11", 3) == "2025-02"
    assert month_shift("2025-01", -1) == "2024-12"
    assert month_shift("2025-01", -13) == "2023-12"


def test_the_month_of_a_time_is_read_in_its_own_offset():
    assert month_index("2025-01-31T23:30:00+08:00") - month_index("2024-12") == 1


def test_months_from_includes_both_ends_and_an_earlier_end_gives_the_start():
    assert months_from("2024-11", "2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert months_from("2025-02", "2024-11") == ["2025-02"]


def test_a_month_s_last_day_stays_its_last_day_and_any_part_of_a_month_counts():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert months_between(date(2025, 1, 15), date(2025, 3, 15)) == 2
    assert months_between(date(2025, 1, 15), date(2025, 3, 16)) == 3


def test_a_month_s_last_day_and_the_month_of_a_date():
    assert last_day("2024-02") == date(2024, 2, 29)
    assert last_day("2025-12") == date(2025, 12, 31)
    assert month_of(date(2025, 3, 9)) == "2025-03"
