from datetime import timedelta
from pathlib import Path

import pytest

from services.common.policy import PolicyBook, PolicyError
from services.common.settings import REPO_ROOT


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


SHIPPED = (REPO_ROOT / "policy" / "2021.toml").read_text(encoding="utf-8")
BASE = SHIPPED.replace('version = "2021.2"', 'version = "t.1"').replace("year = 2021", "year = 2024")


def test_the_most_specific_region_prefix_wins(tmp_path):
    write(
        tmp_path,
        "2024.toml",
        BASE + '[regions."53"]\nmonitoring_line = 8700\n[regions."532328"]\nmonitoring_line = 8050\n',
    )
    book = PolicyBook.load(tmp_path)
    assert book.for_region("532328101001", 2024).values.monitoring_line == 8050
    assert book.for_region("532301101001", 2024).values.monitoring_line == 8700
    assert book.for_region("620171101001", 2024).values.monitoring_line == 6000


def test_a_region_override_keeps_the_values_it_does_not_set(tmp_path):
    write(tmp_path, "2024.toml", BASE + '[regions."53"]\nmonitoring_line = 8700\n')
    assert PolicyBook.load(tmp_path).for_region("530000000000", 2024).values.identification_within == timedelta(days=15)


def test_the_latest_file_not_after_the_year_applies(tmp_path):
    write(tmp_path, "2021.toml", BASE.replace("year = 2024", "year = 2021").replace("t.1", "v2021"))
    write(tmp_path, "2024.toml", BASE.replace("monitoring_line = 6000", "monitoring_line = 7000"))
    book = PolicyBook.load(tmp_path)
    assert book.for_region("110000000000", 2023).version == "v2021"
    assert book.for_region("110000000000", 2026).values.monitoring_line == 7000


def test_a_bad_value_is_refused_naming_the_file_and_key(tmp_path):
    write(tmp_path, "2024.toml", BASE + '[regions."53"]\nmonitoring_line = -5\n')
    with pytest.raises(PolicyError, match=r"2024.toml: regions.53.monitoring_line: Input should be greater than 0"):
        PolicyBook.load(tmp_path)


def test_an_unknown_key_is_refused(tmp_path):
    write(tmp_path, "2024.toml", BASE.replace("monitoring_line = 6000", "monitoring_line = 6000\nmonitoring_lime = 1"))
    with pytest.raises(PolicyError, match=r"default.monitoring_lime"):
        PolicyBook.load(tmp_path)


def test_a_missing_default_value_is_refused(tmp_path):
    write(tmp_path, "2024.toml", BASE.replace('identification_within = "P15D"\n', ""))
    with pytest.raises(PolicyError, match=r"default.identification_within: Field required"):
        PolicyBook.load(tmp_path)


def test_a_region_prefix_must_be_digits(tmp_path):
    write(tmp_path, "2024.toml", BASE + '[regions."yunnan"]\nmonitoring_line = 1\n')
    with pytest.raises(PolicyError, match=r"regions.yunnan"):
        PolicyBook.load(tmp_path)


def test_broken_toml_is_refused_naming_the_file(tmp_path):
    write(tmp_path, "2024.toml", "version = \n")
    with pytest.raises(PolicyError, match="2024.toml: not valid TOML"):
        PolicyBook.load(tmp_path)


def test_the_shipped_policy_has_the_published_lines():
    book = PolicyBook.load(REPO_ROOT / "policy")
    assert book.for_region("110101001001", 2021).values.monitoring_line == 6000
    assert book.for_region("532328101001", 2023).values.monitoring_line == 8050
    assert book.for_region("532328101001", 2025).values.monitoring_line == 8700


def test_an_override_is_checked_like_a_default(tmp_path):
    write(tmp_path, "2024.toml", BASE + '[regions."53"]\nmodel_red_probability = 1.5\n')
    with pytest.raises(PolicyError, match=r"regions.53.model_red_probability: Input should be less than 1"):
        PolicyBook.load(tmp_path)


def test_deadlines_can_be_set_down_to_seconds(tmp_path):
    write(tmp_path, "2024.toml", BASE + '[regions."53"]\nhome_visit_within = "PT30S"\n')
    values = PolicyBook.load(tmp_path).for_region("530000000000", 2024).values
    assert values.home_visit_within == timedelta(seconds=30)


def test_a_region_may_change_one_rule_s_level_and_keeps_the_others(tmp_path):
    write(tmp_path, "2024.toml", BASE + '[regions."5323".levels]\nmedical_burden = "red"\n')
    book = PolicyBook.load(tmp_path)
    assert book.for_region("532328101001", 2024).values.levels.medical_burden == "red"
    assert book.for_region("532328101001", 2024).values.levels.income_drop == "yellow"
    assert book.for_region("110101001001", 2024).values.levels.medical_burden == "yellow"


def test_a_level_that_is_not_red_or_yellow_is_refused_naming_the_rule(tmp_path):
    write(tmp_path, "2024.toml", BASE + '[regions."53".levels]\nself_declared = "green"\n')
    with pytest.raises(PolicyError, match=r"regions.53.levels.self_declared"):
        PolicyBook.load(tmp_path)


def test_a_category_that_is_not_a_registered_one_is_refused(tmp_path):
    shifted = BASE.replace(
        'low_income_categories = ["poverty_exited", "monitored"]', 'low_income_categories = ["rich"]'
    )
    write(tmp_path, "2024.toml", shifted)
    with pytest.raises(PolicyError, match=r"default.low_income_categories"):
        PolicyBook.load(tmp_path)


def test_a_region_s_own_measures_for_a_risk_type_replace_that_type_s_list_only(tmp_path):
    write(tmp_path, "2024.toml", BASE + '[regions."53".risk_type_measures]\nillness = ["medical_assistance"]\n')
    values = PolicyBook.load(tmp_path).for_region("532328101001", 2024).values
    assert values.risk_type_measures["illness"] == ["medical_assistance"]
    assert values.risk_type_measures["education"] == ["education_aid"]


def test_a_policy_that_leaves_a_risk_type_without_measures_or_names_an_unknown_measure_is_refused(tmp_path):
    write(tmp_path, "2024.toml", BASE.replace('education = ["education_aid"]\n', ""))
    with pytest.raises(PolicyError, match="every risk type needs at least one measure; none for education"):
        PolicyBook.load(tmp_path)
    write(tmp_path, "2024.toml", BASE + '[regions."53".risk_type_measures]\nillness = ["prayer"]\n')
    with pytest.raises(PolicyError, match=r"regions\.53\.risk_type_measures\.illness"):
        PolicyBook.load(tmp_path)
