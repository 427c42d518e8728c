"""Helpers shared by the field-type families: messages, blanks, text and number parsing.

Kept apart from :mod:`engine.fields.base` (the contract) so that the contract stays a
short read; nothing here is a field type.
"""

from __future__ import annotations

import contextlib
import math
import re
import unicodedata
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Context, Decimal, Inexact, InvalidOperation, getcontext
from typing import Any

from engine.definitions.model import I18nText
from engine.fields.base import FieldValueError, InputSource

#: significant digits (integer digits + decimal places) every stored number keeps exactly
#: on both databases: SQLite stores decimals as integer minor units in a 64-bit integer,
#: which holds any 18-digit number (2**63 - 1 is 9223372036854775807, 19 digits)
MAX_DIGITS = 18
#: integer digits of the declared column, NUMERIC(18 + p, p) on PostgreSQL. Wider than
#: what a field accepts (``MAX_DIGITS - p`` integer digits); kept so that the recorded
#: column specs of existing tables still match and publishing sees no storage change.
MAX_INTEGER_DIGITS = 18

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")

_DECIMAL_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
#: characters NFKC leaves alone but people type for a minus sign
_MINUS_SIGNS = str.maketrans({"\u2212": "-", "\u2012": "-", "\u2013": "-"})
_GROUPING = re.compile(r"[,\s']")


def bilingual(en: str, zh: str) -> str:
    """One message for both audiences: English first, then Chinese."""
    return f"{en} / {zh}"


def fail(en: str, zh: str, code: str = "type") -> FieldValueError:
    """A :class:`FieldValueError` with a bilingual message (raise the result)."""
    return FieldValueError(bilingual(en, zh), code, {"en": en, "zh-CN": zh})


def is_blank_input(raw: Any) -> bool:
    """True for input that means "no value": None, empty or whitespace-only text, empty list."""
    if raw is None:
        return True
    if isinstance(raw, str):
        return raw.strip() == ""
    return isinstance(raw, (list, tuple, dict)) and len(raw) == 0


def normalize_text(text: str) -> str:
    """Full-width digits, letters and punctuation to their ASCII forms (NFKC), trimmed."""
    return unicodedata.normalize("NFKC", text).translate(_MINUS_SIGNS).strip()


def localized(value: Any, locale: str) -> str:
    """Bilingual text from a definition (string or {zh-CN, en} mapping) in one locale."""
    text = I18nText.of(value)
    return "" if text is None else text.get(locale)


def parse_decimal(raw: Any, source: InputSource, *, strip: str = "") -> Decimal:
    """Read a number as a Decimal, never through binary floating point rounding.

    JSON takes numbers and plain decimal strings ("1234.50"). Web and Excel text also
    takes grouping commas, full-width digits and surrounding spaces ("１,234.50 "), and
    the characters in ``strip`` (a currency sign) around the number. Excel floats are
    read to 15 significant digits, the precision Excel itself keeps, so a cell showing
    0.3 that holds 0.30000000000000004 reads as 0.3.
    """
    if isinstance(raw, bool):
        raise fail("expected a number, not true/false", "应为数字，而不是是/否")
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise fail("expected a finite number", "应为有限的数字")
        return Decimal(format(raw, ".15g") if source == "excel" else str(raw))
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise fail("expected a finite number", "应为有限的数字")
        return raw
    if not isinstance(raw, str):
        raise fail("expected a number", "应为数字")
    text = raw.strip()
    if source != "json":
        text = _GROUPING.sub("", normalize_text(text))
        if strip:  # "-¥5.00" and "¥-5.00" both mean minus five
            sign = text[:1] if text[:1] in "+-" else ""
            text = sign + text[len(sign) :].strip(strip)
    if not _DECIMAL_TEXT.fullmatch(text):
        raise fail(f"expected a number, got {raw!r}", f"应为数字，收到 {raw!r}")
    return Decimal(text)


def decimal_places(value: Decimal) -> int:
    """Significant decimal places: 1.500 has 1, 100 has 0."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def quantum(places: int) -> Decimal:
    """The Decimal step for ``places`` decimal places (2 -> Decimal('0.01'))."""
    if 0 <= places < len(_QUANTA):
        return _QUANTA[places]
    return Decimal(1).scaleb(-places)


#: the steps of the places numeric fields use, built once (every decimal input needs one)
_QUANTA = tuple(Decimal(1).scaleb(-places) for places in range(12))


#: a context wide enough for the limits themselves, whatever the caller's context is
_WIDE = Context(prec=60)


def integer_digits(places: int) -> int:
    """Digits before the point a value with ``places`` decimals may have (18 - places)."""
    return max(MAX_DIGITS - places, 0)


def largest(places: int) -> Decimal:
    """The largest value a field with ``places`` decimals accepts (money: 9999999999999999.99)."""
    top = _WIDE.subtract(_WIDE.power(10, integer_digits(places)), quantum(places))
    return top.quantize(quantum(places), context=_WIDE)


def _magnitude_bound(places: int) -> Decimal:
    # |value| below this rounds half up (to ``places``) to at most integer_digits(places)
    # integer digits; an exact input with ``places`` decimals is below it iff it fits
    return _WIDE.subtract(_WIDE.power(10, integer_digits(places)), Decimal(5).scaleb(-places - 1))


_BOUNDS = tuple(_magnitude_bound(places) for places in range(12))


def fit_places(value: Decimal, places: int, *, shown_places: int | None = None) -> Decimal:
    """``value`` with exactly ``places`` decimals; more significant places is an error.

    Input is never rounded silently: a person typing 1.005 into a money field has made
    a mistake worth showing. ``shown_places`` is what the message names (a percent
    field stores 4 places of the fraction but people count 2 places of the percent).
    A value with more than ``MAX_DIGITS`` digits in all is ``too_large`` (checked first:
    1E+30 cannot even be quantized), and minus zero comes back as zero.
    """
    check_magnitude(value, places)
    # Fast path: one quantize that traps Inexact both checks "no significant places are
    # lost" and fits the value (the normalize + as_tuple of decimal_places cost as much
    # again). Any signal falls through to the original steps, which give the same
    # result and the same errors.
    with contextlib.suppress(Inexact, InvalidOperation, TypeError, AttributeError):
        fitted = value.quantize(quantum(places), context=_exact_context())
        return fitted if fitted else fitted.copy_abs()
    if decimal_places(value) > places:
        n = places if shown_places is None else shown_places
        raise fail(f"at most {n} decimal places", f"最多 {n} 位小数", "decimals")
    try:
        fitted = value.quantize(quantum(places))
    except InvalidOperation as exc:  # a caller's context with fewer digits than the value
        raise _too_large(places) from exc
    return fitted if fitted else fitted.copy_abs()


#: (prec, Emin, Emax) of the caller's context -> the same limits, trapping Inexact too
_EXACT_CONTEXTS: dict[tuple[int, int, int], Context] = {}


def _exact_context() -> Context:
    """The current decimal context's limits with every inexact result trapped."""
    current = getcontext()
    key = (current.prec, current.Emin, current.Emax)
    context = _EXACT_CONTEXTS.get(key)
    if context is None:
        context = Context(
            prec=current.prec,
            Emin=current.Emin,
            Emax=current.Emax,
            traps=[Inexact, InvalidOperation],
        )
        if len(_EXACT_CONTEXTS) < 64:
            _EXACT_CONTEXTS[key] = context
    return context


def round_half_up(value: Decimal, places: int) -> Decimal:
    """Round a computed result to ``places`` decimals, half away from zero.

    A result that does not fit a field with ``places`` decimals is ``too_large``; minus
    zero (-0.001 rounded) comes back as zero.
    """
    check_magnitude(value, places)
    # the wide context: the caller's precision must not turn a fitting result into a signal
    rounded = value.quantize(quantum(places), rounding=ROUND_HALF_UP, context=_WIDE)
    return rounded if rounded else rounded.copy_abs()


def check_magnitude(value: Decimal, places: int = 0) -> Decimal:
    """Reject numbers that do not fit a field with ``places`` decimals.

    Such a field keeps at most ``MAX_DIGITS`` digits in all, ``integer_digits(places)``
    before the point; NaN and infinities are refused as not finite.
    """
    bound = _BOUNDS[places] if 0 <= places < len(_BOUNDS) else _magnitude_bound(places)
    try:
        if -bound < value < bound:
            return value
    except (InvalidOperation, TypeError):
        pass  # NaN (comparisons signal) and non-Decimals
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise fail("expected a number", "应为数字")
    if isinstance(value, Decimal) and not value.is_finite():
        raise fail("expected a finite number", "应为有限的数字")
    raise _too_large(places)


def _too_large(places: int) -> FieldValueError:
    digits, top = integer_digits(places), largest(places)
    return fail(
        f"the number is too large: at most {digits} digits before the point (largest {top})",
        f"数字太大：整数部分最多 {digits} 位（最大 {top}）",
        "too_large",
    )


def option_decimal(value: Any) -> Decimal | None:
    """A numeric definition key (min, max) as a Decimal; None when absent."""
    if value is None or isinstance(value, bool):
        return None
    # min/max are read on every input of the field: convert each option value once.
    # Only int and str are cached (keyed by type: 1 and "1" differ in the messages);
    # floats compare equal across 0.0/-0.0 but their text differs, so they are not.
    if type(value) not in (int, str):
        return _option_decimal(value)
    key = (type(value), value)
    cached = _OPTION_DECIMALS.get(key, _MISSING)
    if cached is not _MISSING:
        return cached  # type: ignore[return-value]
    converted = _option_decimal(value)
    if len(_OPTION_DECIMALS) >= 4096:
        _OPTION_DECIMALS.clear()
    _OPTION_DECIMALS[key] = converted
    return converted


_OPTION_DECIMALS: dict[tuple[type, Any], Decimal | None] = {}
_MISSING = object()


def _option_decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def check_range(value: Decimal, minimum: Any, maximum: Any, shown: str | None = None) -> None:
    """Raise ``min``/``max`` errors against a field's bounds (bounds as written in YAML)."""
    low, high = option_decimal(minimum), option_decimal(maximum)
    if low is not None and value < low:
        raise fail(f"must be at least {shown or low}", f"不能小于 {shown or low}", "min")
    if high is not None and value > high:
        raise fail(f"must be at most {shown or high}", f"不能大于 {shown or high}", "max")


def check_text(text: str) -> str:
    """``text`` unchanged, or ``invalid_text`` when no database can store it as given.

    A NUL character is refused by PostgreSQL (and silently kept by SQLite); a lone
    surrogate (half of a UTF-16 pair, "\\ud800") cannot be encoded as UTF-8 at all.
    """
    found = _BAD_TEXT.search(text)
    if found is None:
        return text
    if found.group() == "\x00":
        raise fail(
            "the text contains a NUL character (\\x00); remove it",
            "文本包含空字符（\\x00），请删除",
            "invalid_text",
        )
    code = f"U+{ord(found.group()):04X}"
    raise fail(
        f"the text contains an invalid character ({code}, half of a surrogate pair); retype it",
        f"文本包含无效字符（{code}，不完整的代理对），请重新输入",
        "invalid_text",
    )


def shown(value: Any) -> str:
    """``value`` as text safe to put in a message: escaped when it holds a NUL or a lone
    surrogate (a message must itself be storable and encodable, as UTF-8 JSON or a log)."""
    text = str(value)
    return text if _BAD_TEXT.search(text) is None else ascii(text)[1:-1]


def plain_text(raw: Any, source: InputSource) -> str:
    """Input as trimmed text: Excel numbers like 123.0 become "123", not "123.0".

    Text no database can store (a NUL, a lone surrogate) is ``invalid_text``.
    """
    if isinstance(raw, str):
        return check_text(raw).strip()
    if isinstance(raw, bool):
        raise fail("expected text, not true/false", "应为文本，而不是是/否")
    if (isinstance(raw, float) and not math.isfinite(raw)) or (
        isinstance(raw, Decimal) and not raw.is_finite()
    ):
        raise fail("expected text, not an infinite number or NaN", "应为文本，而不是无穷大或非数字")
    try:
        if isinstance(raw, float) and raw.is_integer():
            return str(int(raw))
        if isinstance(raw, (int, float, Decimal)):
            return str(raw)
    except ValueError:  # an int of more than 4,300 digits has no text form in Python
        raise fail(
            "expected text, not a number this long", "应为文本，而不是这么长的数字"
        ) from None
    raise fail("expected text", "应为文本")


def require_mapping(raw: Any, what: str, what_zh: str) -> Mapping[str, Any]:
    """``raw`` when it is a mapping, else a type error naming what was expected."""
    if not isinstance(raw, Mapping):
        raise fail(f"expected {what}", f"应为{what_zh}")
    return raw


I18N_TEXT_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"type": "string"},
        {
            "type": "object",
            "properties": {"zh-CN": {"type": "string"}, "en": {"type": "string"}},
            "additionalProperties": False,
            "minProperties": 1,
        },
    ]
}
NUMBER_SCHEMA: dict[str, Any] = {"type": ["number", "string"]}
