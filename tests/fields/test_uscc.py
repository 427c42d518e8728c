import pytest

from engine.fields import FieldValueError, get
from engine.fields.uscc import USCC_ALPHABET

uscc = get("uscc")
VALID = "91350100M000100Y43"


def test_a_valid_code_is_trimmed_and_upper_cased(make_field):
    assert uscc.coerce(make_field("uscc"), f"  {VALID.lower()} ", "excel") == VALID


def test_wrong_length_says_how_many_characters(make_field):
    with pytest.raises(FieldValueError) as caught:
        uscc.coerce(make_field("uscc"), VALID[:-1])
    assert caught.value.code == "length"
    assert "18 characters (17 given)" in caught.value.message


def test_letters_outside_the_alphabet_are_named(make_field):
    with pytest.raises(FieldValueError) as caught:
        uscc.coerce(make_field("uscc"), VALID[:8] + "O" + VALID[9:])
    assert caught.value.code == "pattern"
    assert "O cannot appear" in caught.value.message


def test_region_code_must_be_digits(make_field):
    with pytest.raises(FieldValueError) as caught:
        uscc.coerce(make_field("uscc"), VALID[:3] + "A" + VALID[4:])
    assert "region code" in caught.value.message


@pytest.mark.parametrize("position", range(18))
def test_every_single_character_corruption_is_refused(make_field, position):
    original = VALID[position]
    replacement = next(
        c for c in sorted(USCC_ALPHABET) if c != original and c.isdigit() == original.isdigit()
    )
    corrupted = VALID[:position] + replacement + VALID[position + 1 :]
    with pytest.raises(FieldValueError) as caught:
        uscc.coerce(make_field("uscc"), corrupted)
    assert caught.value.code in {"checksum", "pattern"}


def test_checksum_failure_points_at_the_last_character(make_field):
    with pytest.raises(FieldValueError) as caught:
        uscc.coerce(make_field("uscc"), VALID[:-1] + "2")
    assert caught.value.code == "checksum"
    assert "check character (the last one)" in caught.value.message
