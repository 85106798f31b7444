import pytest

from services.common.identity import (
    InvalidResidentId,
    check_digit,
    pseudonymise,
    scrub_resident_ids,
    validate_resident_id,
)
from tests.factories import resident_id


def test_a_resident_id_with_the_right_check_digit_is_accepted():
    assert validate_resident_id("11010519491231002X") == "11010519491231002X"


def test_a_lower_case_x_check_character_is_normalised():
    assert validate_resident_id("11010519491231002x") == "11010519491231002X"


def test_a_wrong_check_digit_is_refused_with_the_reason():
    with pytest.raises(InvalidResidentId, match="check digit"):
        validate_resident_id("110105194912310021")


@pytest.mark.parametrize("value", ["1101051949123100", "11010519491231002XX", "A1010519491231002X"])
def test_a_value_of_the_wrong_shape_is_refused(value):
    with pytest.raises(InvalidResidentId, match="18 characters"):
        validate_resident_id(value)


def test_check_digit_follows_gb_11643():
    assert check_digit("11010519491231002") == "X"


def test_the_same_person_gets_the_same_pseudonym_under_one_key_and_another_under_another_key():
    person = resident_id()
    assert pseudonymise(person, b"k1") == pseudonymise(person, b"k1")
    assert pseudonymise(person, b"k1") != pseudonymise(person, b"k2")
    assert person not in pseudonymise(person, b"k1")


def test_resident_ids_in_free_text_are_masked():
    person = resident_id()
    text = scrub_resident_ids(f"bad row for {person}, phone 13800000000")
    assert person not in text
    assert "13800000000" in text


def test_log_lines_lose_resident_ids_and_credentials():
    from services.common.logs import scrub

    line = scrub(f"GET /alerts/stream?access_token=eyJ.a.b&x=1 for {resident_id()} password=hunter22")
    assert "eyJ" not in line and resident_id() not in line and "hunter22" not in line and "x=1" in line
