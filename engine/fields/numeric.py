"""Numbers, money and percentages: Decimal end to end, never float.

* ``number``: ``precision`` decimal places (0 = an integer, the Python value is ``int``);
* ``money``: Decimal with exactly 2 places, shown as ``¥1,234.50``;
* ``percent``: the fraction as a Decimal (0.0250 is 2.5%), typed as ``2.5%`` on the web.

Input with more decimal places than the field keeps is an error, not silently rounded.
A value has at most 18 digits in all (``MAX_DIGITS``: money up to 9999999999999999.99),
what both databases store exactly; more is ``too_large``. Minus zero becomes zero.
In JSON, decimals travel as strings ("1234.50") so no client float can change them;
numbers are accepted on input.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from decimal import Context, Decimal
from typing import Any, ClassVar

from engine.definitions.model import FieldDefinition
from engine.fields.base import ColumnSpec, FieldType, InputSource, OptionProblem
from engine.fields.common import (
    I18N_TEXT_SCHEMA,
    MAX_INTEGER_DIGITS,
    NUMBER_SCHEMA,
    check_range,
    fail,
    fit_places,
    is_blank_input,
    localized,
    normalize_text,
    option_decimal,
    parse_decimal,
    quantum,
)

#: enough digits for any stored value (NUMERIC(18 + 8, 8) at most) to be re-read exactly
_STORED = Context(prec=60)

CURRENCY_SIGNS = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$", "GBP": "£", "JPY": "JP¥"}
#: currency signs a person may type around an amount (full-width ￥ is normalised to ¥)
_SIGN_CHARS = "¥$€£元"


class DecimalFieldType(FieldType):
    """Shared behaviour of the numeric types; subclasses say how many places they keep."""

    #: characters allowed around the number in web/Excel text (currency signs)
    strip_chars: ClassVar[str] = ""

    @abstractmethod
    def places(self, field: FieldDefinition) -> int:
        """Decimal places the value keeps."""

    def check_options(self, field: FieldDefinition) -> list[OptionProblem]:
        problems = []
        for key in ("min", "max"):
            value = field.option(key)
            if value is not None and option_decimal(value) is None:
                problems.append(OptionProblem(key, f"expected a number, got {value!r}"))
        low, high = option_decimal(field.option("min")), option_decimal(field.option("max"))
        if low is not None and high is not None and low > high:
            problems.append(OptionProblem("min", f"min ({low}) is greater than max ({high})"))
        return problems

    def columns(self, field: FieldDefinition) -> list[ColumnSpec]:
        places = self.places(field)
        if places == 0:
            return [ColumnSpec("integer")]
        return [ColumnSpec("decimal", precision=MAX_INTEGER_DIGITS + places, scale=places)]

    def from_storage(self, field: FieldDefinition, row: Any) -> Any:
        stored = row.get(field.key)
        # SQLite hands decimals back as floats or strings; re-read them exactly.
        return None if stored is None else self._exact(field, parse_decimal(stored, "json"))

    def parse(self, field: FieldDefinition, raw: Any, source: InputSource) -> Decimal:
        """The input as a Decimal in the unit the value is kept in."""
        return parse_decimal(raw, source, strip=self.strip_chars)

    def coerce(self, field: FieldDefinition, raw: Any, source: InputSource = "json") -> Any:
        if is_blank_input(raw):
            return None
        places = self.places(field)
        value = fit_places(self.parse(field, raw, source), places, **self._shown(field))
        check_range(value, field.option("min"), field.option("max"))
        # ``value`` is already fitted to ``places``: fitting again (as ``_exact`` does for
        # stored values) would return it unchanged, so only the int conversion is left
        return self._fitted_value(places, value)

    def coercer(self, field: FieldDefinition) -> Callable[[Any, InputSource], Any]:
        # Places, the message's places and the parsed min/max are the same for every
        # value of the field: work them out once instead of re-reading the options
        # (and re-converting min/max) on each value. A subclass with its own coerce
        # keeps it.
        if type(self).coerce is not DecimalFieldType.coerce:
            return super().coercer(field)
        places = self.places(field)
        shown = self._shown(field)
        minimum, maximum = field.option("min"), field.option("max")
        low, high = option_decimal(minimum), option_decimal(maximum)
        parse, fitted_value = self.parse, self._fitted_value

        def coerce(raw: Any, source: InputSource = "json") -> Any:
            if is_blank_input(raw):
                return None
            value = fit_places(parse(field, raw, source), places, **shown)
            if (low is not None and value < low) or (high is not None and value > high):
                check_range(value, minimum, maximum)  # raises the usual min/max error
            return fitted_value(places, value)

        return coerce

    def _fitted_value(self, places: int, value: Decimal) -> Any:
        """The Python value of an input already fitted to ``places``."""
        return value

    def _shown(self, field: FieldDefinition) -> dict[str, int]:
        return {}

    def _exact(self, field: FieldDefinition, value: Decimal) -> Any:
        # Stored values are read back as they are, without the input limits: a value
        # written under an older, wider limit must still read (editing it re-checks it).
        places = self.places(field)
        stored = value.quantize(quantum(places), context=_STORED)
        return self._fitted_value(places, stored if stored else stored.copy_abs())

    def value_schema(self, field: FieldDefinition) -> dict[str, Any]:
        places = self.places(field)
        return {
            "type": ["string", "number"],
            "pattern": rf"^-?\d+(\.\d{{1,{places}}})?$" if places else r"^-?\d+$",
            "description": f"decimal with up to {places} places, sent as a string",
        }

    def to_json(self, field: FieldDefinition, value: Any) -> Any:
        return None if value is None else format(value, "f")


class NumberType(DecimalFieldType):
    name = "number"
    option_properties = {
        "precision": {"type": "integer", "minimum": 0, "maximum": 8, "default": 0},
        "min": NUMBER_SCHEMA,
        "max": NUMBER_SCHEMA,
        "unit": I18N_TEXT_SCHEMA,
    }

    def places(self, field: FieldDefinition) -> int:
        return int(field.option("precision", 0) or 0)

    def _fitted_value(self, places: int, value: Decimal) -> Any:
        return int(value) if places == 0 else value

    def value_schema(self, field: FieldDefinition) -> dict[str, Any]:
        if self.places(field) == 0:
            return {"type": "integer"}
        return super().value_schema(field)

    def to_json(self, field: FieldDefinition, value: Any) -> Any:
        return value if isinstance(value, int) or value is None else format(value, "f")

    def display(self, field: FieldDefinition, value: Any, locale: str = "zh-CN") -> str:
        if value is None:
            return ""
        unit = localized(field.option("unit"), locale)
        text = format(value, ",")
        return f"{text} {unit}" if unit else text


class MoneyType(DecimalFieldType):
    name = "money"
    option_properties = {
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "default": "CNY"},
        "min": NUMBER_SCHEMA,
        "max": NUMBER_SCHEMA,
    }
    strip_chars = _SIGN_CHARS

    def places(self, field: FieldDefinition) -> int:
        return 2

    def display(self, field: FieldDefinition, value: Any, locale: str = "zh-CN") -> str:
        if value is None:
            return ""
        currency = field.option("currency", "CNY")
        sign = CURRENCY_SIGNS.get(currency, f"{currency} ")
        minus = "-" if value < 0 else ""
        return f"{minus}{sign}{abs(value):,.2f}"


class PercentType(DecimalFieldType):
    """A fraction: 0.025 is shown as 2.50%. ``min``/``max`` are fractions too."""

    name = "percent"
    option_properties = {
        "precision": {"type": "integer", "minimum": 2, "maximum": 8, "default": 4},
        "min": NUMBER_SCHEMA,
        "max": NUMBER_SCHEMA,
    }

    def places(self, field: FieldDefinition) -> int:
        return int(field.option("precision", 4) or 4)

    def _shown(self, field: FieldDefinition) -> dict[str, int]:
        return {"shown_places": self.places(field) - 2}

    def parse(self, field: FieldDefinition, raw: Any, source: InputSource) -> Decimal:
        # "2.5%" is a percentage; text without % (and every JSON number) is the fraction,
        # as Excel itself stores a cell formatted 2.5% as 0.025.
        if isinstance(raw, str) and normalize_text(raw).endswith("%"):
            if source == "json":
                raise fail(
                    "send a percentage as its fraction (0.025 for 2.5%)",
                    "百分比请以小数发送（2.5% 发送 0.025）",
                )
            number = parse_decimal(normalize_text(raw)[:-1], source)
            return number.scaleb(-2)
        return parse_decimal(raw, source)

    def display(self, field: FieldDefinition, value: Any, locale: str = "zh-CN") -> str:
        if value is None:
            return ""
        shown = max(self.places(field) - 2, 0)
        return f"{value.scaleb(2):,.{shown}f}%"


FIELD_TYPES: tuple[FieldType, ...] = (NumberType(), MoneyType(), PercentType())
