"""The fast paths of decimal input (fit_places, check_magnitude, option_decimal) give the
same values and the same errors as the original step-by-step checks."""

from __future__ import annotations

import decimal
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import pytest

from engine.fields.base import FieldValueError
from engine.fields.common import (
    MAX_DIGITS,
    check_magnitude,
    decimal_places,
    fit_places,
    option_decimal,
    quantum,
)


def slow_check_magnitude(value: Decimal, places: int = 0) -> Decimal:
    """Round half up to ``places`` in a wide context and count the integer digits."""
    if not value.is_finite():
        raise FieldValueError("not finite", "type")
    wide = decimal.Context(prec=100)
    rounded = abs(value).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP, context=wide)
    digits = len(str(rounded.to_integral_value(rounding="ROUND_DOWN", context=wide)))
    if rounded >= 1 and digits > MAX_DIGITS - places:
        raise FieldValueError("too large", "too_large")
    return value


def slow_fit_places(value: Decimal, places: int) -> Decimal:
    slow_check_magnitude(value, places)
    if decimal_places(value) > places:
        raise FieldValueError("places", "decimals")
    try:
        fitted = value.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation as exc:
        raise FieldValueError("too large", "too_large") from exc
    return abs(fitted) if fitted == 0 else fitted


def outcome(function, *args):
    try:
        result = function(*args)
    except FieldValueError as error:
        return ("error", error.code)
    except InvalidOperation:
        return ("invalid",)
    return ("ok", result, str(result))


VALUES = [
    "0",
    "-0",
    "0.00",
    "1",
    "1.5",
    "1.50",
    "1.500",
    "1.005",
    "-12.345",
    "100",
    "1E+3",
    "1E-9",
    "999999999999999999",
    "9999999999999999.99",
    "10000000000000000",
    "9999999999999999.995",
    "99999999999999.9999",
    "9999999999.99999999",
    "-9999999999999999.99",
    "999999999999999999.49",
    "999999999999999999.5",
    "-999999999999999999.5",
    "1000000000000000000",
    "123456789012345678.12",
    "1E+30",
    "12345678901234567890123456789",
]


@pytest.mark.parametrize("text", VALUES)
@pytest.mark.parametrize("places", [0, 2, 4, 8])
def test_fit_places_matches_the_step_by_step_checks(text, places):
    value = Decimal(text)
    assert outcome(fit_places, value, places) == outcome(slow_fit_places, value, places)


@pytest.mark.parametrize("text", [*VALUES, "NaN", "Infinity", "-Infinity"])
def test_check_magnitude_matches_counting_digits(text):
    value = Decimal(text)
    for places in (0, 2, 4, 8):
        fast = outcome(check_magnitude, value, places)
        assert fast == outcome(slow_check_magnitude, value, places)


def test_fit_places_follows_the_callers_decimal_context():
    with decimal.localcontext() as context:
        context.prec = 5
        assert outcome(fit_places, Decimal("123.45"), 2) == outcome(
            slow_fit_places, Decimal("123.45"), 2
        )
        assert outcome(fit_places, Decimal("1234.5"), 2) == outcome(
            slow_fit_places, Decimal("1234.5"), 2
        )


def test_fit_places_names_the_shown_places():
    with pytest.raises(FieldValueError, match="at most 2 decimal places"):
        fit_places(Decimal("0.00001"), 4, shown_places=2)


@pytest.mark.parametrize(
    ("places", "top"),
    [(0, "999999999999999999"), (2, "9999999999999999.99"), (8, "9999999999.99999999")],
)
def test_the_largest_accepted_value_has_18_digits(places, top):
    assert fit_places(Decimal(top), places) == Decimal(top)
    assert fit_places(-Decimal(top), places) == -Decimal(top)
    step = Decimal(1).scaleb(-places)
    with pytest.raises(FieldValueError) as caught:
        fit_places(Decimal(top) + step, places)
    assert caught.value.code == "too_large"
    assert caught.value.translations == {
        "en": f"the number is too large: at most {18 - places} digits before the point "
        f"(largest {top})",
        "zh-CN": f"数字太大：整数部分最多 {18 - places} 位（最大 {top}）",
    }


def test_minus_zero_is_zero():
    for text in ("-0", "-0.00", "-0E-5"):
        assert str(fit_places(Decimal(text), 2)) == "0.00"


def test_quantum_is_the_step_for_any_places():
    assert [quantum(p) for p in (0, 2, 8, 15)] == [Decimal(1).scaleb(-p) for p in (0, 2, 8, 15)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, None),
        (1, Decimal("1")),
        ("1", Decimal("1")),
        (0.1, Decimal("0.1")),
        ("abc", None),
        (-0.0, Decimal("-0.0")),
        (0.0, Decimal("0.0")),
    ],
)
def test_option_decimal_reads_each_value_as_before(value, expected):
    for _ in range(2):  # the second read comes from the cache
        result = option_decimal(value)
        assert result == expected and str(result) == str(expected)
