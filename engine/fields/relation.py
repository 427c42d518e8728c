"""``relation``: a link to a record of another form, kept as its integer id.

``to`` names the target form, ``display`` the target field shown for the link,
``filter`` an expression over the target's fields that limits the choice, and
``fill_from`` copies target fields into this form's fields when the link is chosen
(``{price: price}``: this form's ``price`` from the target's ``price``). Whether those
forms and fields exist is checked by the definitions loader, which sees every form.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from engine.definitions.model import FieldDefinition
from engine.fields.base import ColumnSpec, FieldType, InputSource, OptionProblem
from engine.fields.common import check_text, fail, is_blank_input, normalize_text
from engine.fields.people import coerce_id_list

_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


#: the largest id a 64-bit integer column holds
MAX_RECORD_ID = 2**63 - 1


def read_record_id(raw: Any, source: InputSource) -> int:
    """A record id: a positive integer, or text of one ("12", "#12")."""
    if isinstance(raw, bool):
        raise fail("expected a record id, not true/false", "应为记录编号，而不是是/否")
    if isinstance(raw, (float, Decimal)):
        finite = raw.is_finite() if isinstance(raw, Decimal) else math.isfinite(raw)
        if not finite:
            raise fail("expected a record id (a whole number)", "应为记录编号（整数）")
        if raw == int(raw):
            raw = int(raw)
    if isinstance(raw, str):
        text = normalize_text(check_text(raw)).lstrip("#")
        raw = int(text) if text.isascii() and text.isdigit() else raw
    if isinstance(raw, int) and raw > MAX_RECORD_ID:
        raise fail(
            f"no record has an id this large (at most {MAX_RECORD_ID})",
            f"记录编号太大（最大 {MAX_RECORD_ID}）",
            "too_large",
        )
    if isinstance(raw, int) and raw > 0:
        return raw
    raise fail(
        f"expected a record id (a whole number), got {raw!r}", f"应为记录编号（整数），收到 {raw!r}"
    )


class RelationType(FieldType):
    name = "relation"
    option_properties = {
        "to": {"type": "string"},
        "display": {"type": "string"},
        "many": {"type": "boolean", "default": False},
        "filter": {"type": "string"},
        "fill_from": {"type": "object", "additionalProperties": {"type": "string"}},
    }
    required_options = ("to",)

    def check_options(self, field: FieldDefinition) -> list[OptionProblem]:
        problems = []
        target = field.option("to")
        if not isinstance(target, str) or not _KEY.match(target):
            problems.append(OptionProblem("to", f"expected a form key, got {target!r}"))
        fill_from = field.option("fill_from")
        if fill_from is not None:
            if not isinstance(fill_from, Mapping):
                problems.append(
                    OptionProblem("fill_from", "expected a mapping {this_field: target_field}")
                )
            else:
                for mine, theirs in fill_from.items():
                    if not isinstance(theirs, str) or not _KEY.match(theirs):
                        problems.append(
                            OptionProblem(
                                f"fill_from.{mine}",
                                f"expected a field key of {target}, got {theirs!r}",
                            )
                        )
                if field.option("many") and fill_from:
                    problems.append(
                        OptionProblem(
                            "fill_from",
                            "fill_from needs a single link",
                            "remove many: true or fill_from",
                        )
                    )
        return problems

    def columns(self, field: FieldDefinition) -> list[ColumnSpec]:
        if field.option("many"):
            return [ColumnSpec("json")]
        return [ColumnSpec("integer", indexed=True)]

    def from_storage(self, field: FieldDefinition, row: Any) -> Any:
        stored = row.get(field.key)
        if field.option("many"):
            return [int(v) for v in stored] if stored else None
        return None if stored is None else int(stored)

    def value_schema(self, field: FieldDefinition) -> dict[str, Any]:
        one = {"type": "integer", "minimum": 1}
        return {"type": "array", "items": one, "uniqueItems": True} if field.option("many") else one

    def coerce(self, field: FieldDefinition, raw: Any, source: InputSource = "json") -> Any:
        if is_blank_input(raw):
            return None
        if field.option("many"):
            return coerce_id_list(raw, source, read_record_id)
        return read_record_id(raw, source)

    def to_json(self, field: FieldDefinition, value: Any) -> Any:
        return list(value) if isinstance(value, list) else value

    def display(self, field: FieldDefinition, value: Any, locale: str = "zh-CN") -> str:
        # The target's display field needs the database; the runtime replaces this.
        if not value:
            return ""
        return ", ".join(f"#{v}" for v in value) if isinstance(value, list) else f"#{value}"


FIELD_TYPES: tuple[FieldType, ...] = (RelationType(),)
