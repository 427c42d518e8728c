"""Named text normalizers: the pipeline of a normalized unique rule (docs/uniqueness.md).

A unique rule may compare a *normalized key* of its fields instead of their exact text
(``unique: [{fields: [customer_name], normalize: [company_name]}]``): two spellings of
the same company then clash. Each normalizer is a pure ``str -> str`` function, applied
in the order written; the vocabulary is closed so a definition is checked at load and a
stored key means the same thing in every process.

Pure (no I/O): the loader checks names against :data:`NORMALIZERS`, the store computes
the hidden key column with :func:`normalized_key`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

#: characters ``strip_punctuation`` removes besides every Unicode punctuation character
#: (categories P*): the math-like symbols that appear in company names as separators
EXTRA_PUNCTUATION = frozenset("+<>|~=^`$")

#: ``company_suffix``: legal-form suffixes folded to one spelling, tried in this order,
#: only at the end of the text (Company Law lets a limited company use either form)
COMPANY_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("股份有限公司", "股份公司"),
    ("有限责任公司", "有限公司"),
)

#: separator between the normalized values of a rule over several fields (a unit
#: separator: no normalized text contains it)
KEY_SEPARATOR = "\x1f"

#: the longest key stored (longer keys are cut; the database column is this wide)
KEY_LENGTH = 400


def _trim(text: str) -> str:
    return text.strip()  # str.strip removes U+3000 (ideographic space) too


def _fullwidth(text: str) -> str:
    # NFKC folds full-width letters, digits, brackets and U+3000 to their ASCII forms
    return unicodedata.normalize("NFKC", text)


def _strip_spaces(text: str) -> str:
    return "".join(text.split())


def _strip_punctuation(text: str) -> str:
    return "".join(
        c
        for c in text
        if not unicodedata.category(c).startswith("P") and c not in EXTRA_PUNCTUATION
    )


def _company_suffix(text: str) -> str:
    for long, short in COMPANY_SUFFIXES:
        if text.endswith(long):
            return text[: -len(long)] + short
    return text


def _digits(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", text) if c.isdigit())


def _cn_phone(text: str) -> str:
    digits = _digits(text)
    for prefix in ("0086", "86"):
        # only a country code in front of an 11-digit mobile number is dropped
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            return digits[len(prefix) :]
    return digits


def _uscc(text: str) -> str:
    return _strip_spaces(_fullwidth(text)).replace("-", "").upper()


def _company_name(text: str) -> str:
    for step in ("fullwidth", "strip_spaces", "strip_punctuation", "upper", "company_suffix"):
        text = NORMALIZERS[step](text)
    return text


#: name -> normalizer; documented in docs/uniqueness.md (the order of a pipeline matters)
NORMALIZERS: Mapping[str, Callable[[str], str]] = {
    "trim": _trim,
    "fullwidth": _fullwidth,
    "upper": str.upper,
    "lower": str.lower,
    "strip_spaces": _strip_spaces,
    "strip_punctuation": _strip_punctuation,
    "company_suffix": _company_suffix,
    "digits": _digits,
    "cn_phone": _cn_phone,
    "uscc": _uscc,
    "company_name": _company_name,
}


def normalize(text: str, pipeline: Sequence[str]) -> str:
    """``text`` through each named normalizer in order (KeyError for an unknown name)."""
    for name in pipeline:
        text = NORMALIZERS[name](text)
    return text


def normalized_key(values: Iterable[Any], pipeline: Sequence[str]) -> str | None:
    """The key of a rule over these field values, or None when one of them is blank.

    Each value is taken as text (a date as ISO), normalized, and the parts joined by
    :data:`KEY_SEPARATOR`. A value that normalizes to nothing is blank: it never clashes.
    """
    parts = []
    for value in values:
        if value is None:
            return None
        text = value.isoformat() if hasattr(value, "isoformat") else str(value)
        text = normalize(text, pipeline)
        if not text:
            return None
        parts.append(text)
    return KEY_SEPARATOR.join(parts)[:KEY_LENGTH] if parts else None
