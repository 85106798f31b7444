"""Region names: how codes are shown, what the package names, and how a names file's rows are read and refused."""

from pathlib import Path

from services.regions.catalogue import display_name, full_name, initials, package_names
from services.regions.rows import Named, Refused, read

KNOWN = {**package_names(), "532325101": "新华乡", "532325101001": "新华村"}


def test_a_village_is_shown_with_its_township_and_its_full_name_runs_from_the_province():
    assert display_name("532325101001", KNOWN) == "新华乡 · 新华村"
    assert display_name("532325101", KNOWN) == "新华乡"
    assert full_name("532325101001", KNOWN) == "云南省 楚雄彝族自治州 姚安县 新华乡 新华村"


def test_an_unknown_code_or_a_prefix_between_levels_is_shown_as_the_code():
    assert display_name("532325101002", KNOWN) == "532325101002"
    assert full_name("532325101002", KNOWN) == "532325101002"
    assert display_name("5323251", KNOWN) == "5323251"
    assert display_name("532399101", KNOWN) == "532399101"


def test_the_package_names_provinces_cities_and_counties_including_those_created_in_2024():
    names = package_names()
    assert (names["53"], names["5323"], names["532328"]) == ("云南省", "楚雄彝族自治州", "元谋县")
    assert names["653228"] == "和康县"  # Hotan prefecture's counties of December 2024
    assert names["110101"] == "东城区" and "1101" not in names  # a municipality's districts sit under the province


def test_pinyin_initials_follow_the_reading_of_a_place_name():
    assert initials("新华村") == "xhc"
    assert initials("长沙市") == "css"
    assert initials("重庆市") == "cqs"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "names.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_official_twelve_digit_codes_with_trailing_zeros_name_the_township_and_the_county(tmp_path):
    text = "532325000000,姚安县\n532325101000,栋川镇\n532325101201,新华村委会\n532325101002,城北社区居委会\n"
    text += "532325101202,大村村民委员会\n"
    path = write(tmp_path, text)
    assert list(read(path, "")) == [
        Named(1, "532325", "姚安县"),
        Named(2, "532325101", "栋川镇"),
        Named(3, "532325101201", "新华村"),
        Named(4, "532325101002", "城北社区"),
        Named(5, "532325101202", "大村"),
    ]


def test_each_malformed_row_is_refused_with_its_line_and_why_and_the_good_rows_are_kept(tmp_path):
    text = (
        "\ufeffcode,name\n"
        "532325101,栋川镇\n"
        "53232510100,少一位\n"
        "53232510100A,字母\n"
        "532325101003,\n"
        "532300,楚雄州\n"
        "532325101004,新华村,多一列\n"
        "532326101001,大姚的村\n"
        "532325101005,532325101005\n"
    )
    rows = list(read(write(tmp_path, text), "532325"))
    assert rows[0] == Named(2, "532325101", "栋川镇")
    refused = [(r.line, r.code, r.reason.split(":")[0]) for r in rows[1:] if isinstance(r, Refused)]
    assert refused == [
        (3, "53232510100", "code"),
        (4, "53232510100A", "code"),
        (5, "532325101003", "name"),
        (6, "532300", "code"),
        (7, "532325101004", "row"),
        (8, "532326101001", "code"),
        (9, "532325101005", "name"),
    ]
    reasons = {r.line: r.reason for r in rows if isinstance(r, Refused)}
    assert reasons[3] == "code: 11 digits; expected 6 (county), 9 (township) or 12 (village)"
    assert reasons[8] == "code: outside your jurisdiction 532325"


def test_a_header_naming_the_columns_picks_them_from_a_wider_official_table(tmp_path):
    text = "统计用区划代码,城乡分类代码,名称\n532325101201,220,新华村委会\n"
    assert list(read(write(tmp_path, text), "")) == [Named(2, "532325101201", "新华村")]
