"""Contact details: ``phone`` (mainland mobile numbers) and ``email``."""

from __future__ import annotations

import re
from typing import Any

from engine.definitions.model import FieldDefinition
from engine.fields.base import ColumnSpec, FieldType, FieldValueError, InputSource
from engine.fields.common import fail, is_blank_input, normalize_text, plain_text

_MOBILE = re.compile(r"1[3-9]\d{9}")
_PHONE_NOISE = re.compile(r"[\s\-()（）]")
MOBILE_MESSAGE = "手机号应为 11 位数字，以 1 开头 / mobile numbers have 11 digits starting with 1"
MOBILE_TRANSLATIONS = {
    "en": "mobile numbers have 11 digits starting with 1",
    "zh-CN": "手机号应为 11 位数字，以 1 开头",
}

#: deliberately simple: one @, a dotted domain of letters, digits and hyphens
_EMAIL = re.compile(
    r"[A-Za-z0-9._%+\-]+@([A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}"
)
EMAIL_LENGTH = 254


class PhoneType(FieldType):
    name = "phone"

    def columns(self, field: FieldDefinition) -> list[ColumnSpec]:
        return [ColumnSpec("string", length=20, indexed=True)]

    def value_schema(self, field: FieldDefinition) -> dict[str, Any]:
        return {"type": "string", "pattern": "^1[3-9][0-9]{9}$"}

    def coerce(self, field: FieldDefinition, raw: Any, source: InputSource = "json") -> Any:
        if is_blank_input(raw):
            return None
        digits = _PHONE_NOISE.sub("", normalize_text(plain_text(raw, source)))
        if digits.startswith("+86"):
            digits = digits[3:]
        elif digits.startswith("86") and len(digits) == 13:
            digits = digits[2:]
        if not _MOBILE.fullmatch(digits):
            raise FieldValueError(MOBILE_MESSAGE, "pattern", MOBILE_TRANSLATIONS)
        return digits


class EmailType(FieldType):
    name = "email"

    def columns(self, field: FieldDefinition) -> list[ColumnSpec]:
        return [ColumnSpec("string", length=EMAIL_LENGTH, indexed=True)]

    def value_schema(self, field: FieldDefinition) -> dict[str, Any]:
        return {"type": "string", "format": "email", "maxLength": EMAIL_LENGTH}

    def coerce(self, field: FieldDefinition, raw: Any, source: InputSource = "json") -> Any:
        if is_blank_input(raw):
            return None
        text = normalize_text(plain_text(raw, source))
        if len(text) > EMAIL_LENGTH or not _EMAIL.fullmatch(text):
            raise fail(
                f"expected an e-mail address like name@example.com, got {text!r}",
                f"应为电子邮箱，例如 name@example.com，收到 {text!r}",
                "pattern",
            )
        # The domain is case-insensitive; the local part may not be, so it is kept.
        local, _, domain = text.rpartition("@")
        return f"{local}@{domain.lower()}"


FIELD_TYPES: tuple[FieldType, ...] = (PhoneType(), EmailType())
