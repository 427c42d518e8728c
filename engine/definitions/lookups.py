"""Best-match lookups and versioned reference data: the definition values and their checks.

A form declares named lookups into another form (``lookups:``), each picking the one
row of that form that matches the record best (docs/lookups.md):

* ``match``: target field -> expression over the record; equal values match and a
  blank target value matches anything (a row that leaves ``region`` blank serves every
  region). ``{value: expression, tree: region | department | dealer}`` says the values
  are nodes of an organisation tree: a row naming an ANCESTOR of the record's value
  matches too, and ranking puts the nearest (deepest) node first;
* ``ranges``: target field -> ``{at_most | below | at_least | above: expression}``
  (``min_qty: {at_most: qty}`` keeps rows whose ``min_qty <= qty``); a blank bound is
  open;
* ``effective``: ``{from, to, date}``: rows whose ``from <= date <= to`` (the END is
  inclusive; a blank end is open). The key is ``date``, not ``on``: YAML 1.1 reads a
  bare ``on`` as a boolean;
* ``where``: a condition over the target row (``state == 'active'``);
* ``rank``: the specificity, most important first: a match field ranks rows that name
  it above rows that leave it blank; a range field ranks the tighter bound first; the
  effective ``from`` field ranks the later start first;
* ``value`` (the field MATCH returns) and ``on_none`` (``blank``, ``{default: v}`` or
  ``{error: message}``).

This module is pure: it builds values from checked YAML and checks the YAML against
the app (the expressions compile, the names exist), with file:line errors.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.definitions.model import I18nText, SourceSpan, frozen_mapping

#: the organisation trees a match field's values may belong to (its closure table)
MATCH_TREES = ("region", "department", "dealer")

#: range operators: the target field compared with the record's value
RANGE_OPERATORS = {
    "at_most": "<=",  # target <= value (a minimum quantity, a lower band bound)
    "below": "<",  # target < value
    "at_least": ">=",  # target >= value (a maximum)
    "above": ">",  # target > value (an exclusive upper band bound)
}


@dataclass(frozen=True)
class LookupRange:
    """``field`` of the target compared by ``operator`` (a RANGE_OPERATORS key) with ``expr``."""

    field: str
    operator: str
    expr: str


@dataclass(frozen=True)
class LookupEffective:
    """The target's validity dates and the record's date they are judged on."""

    from_field: str | None
    to_field: str | None
    #: the expression over the record giving the date the validity is judged on
    date: str


@dataclass(frozen=True)
class LookupDefinition:
    """One named best-match lookup of a form into ``form`` (see the module docstring)."""

    name: str
    form: str
    value: str
    #: target field -> expression over the record (or a sub-table row, then the record)
    match: Mapping[str, str] = field(default_factory=frozen_mapping)
    ranges: tuple[LookupRange, ...] = ()
    effective: LookupEffective | None = None
    where: str | None = None
    rank: tuple[str, ...] = ()
    #: (target field, tree) of the match fields whose values are organisation tree nodes
    #: (MATCH_TREES): a row naming an ancestor of the record's value matches too. A tuple,
    #: not a mapping, so it is hashable (part of the compiled-statement cache key).
    trees: tuple[tuple[str, str], ...] = ()
    #: "blank", "default" or "error"
    on_none: str = "blank"
    default: Any = None
    message: I18nText | None = None
    location: SourceSpan | None = field(default=None, compare=False, repr=False)

    @property
    def expressions(self) -> Iterator[tuple[str, str]]:
        """(label, source) of every expression over the record, in a stable order."""
        for target, expr in self.match.items():
            yield f"match.{target}", expr
        for item in self.ranges:
            yield f"ranges.{item.field}.{item.operator}", item.expr
        if self.effective is not None:
            yield "effective.date", self.effective.date


@dataclass(frozen=True)
class VersionsDefinition:
    """Which fields make a reference record a version of a series (``versions:``).

    ``key``: the fields shared by every version of one series (``[code]``); ``number``:
    the version number field; ``effective_from`` / ``effective_to``: the validity dates.
    """

    number: str
    effective_from: str
    effective_to: str | None = None
    key: tuple[str, ...] = ()


def build_lookups(data: Any, location_of: Any) -> tuple[LookupDefinition, ...]:
    """The lookups of a checked form document (``location_of(path)`` gives a SourceSpan)."""
    if not isinstance(data, Mapping):
        return ()
    out = []
    for name, item in data.items():
        effective = item.get("effective")
        on_none = item.get("on_none", "blank")
        kind, default, message = "blank", None, None
        match, trees = _split_match(item.get("match"))
        if isinstance(on_none, Mapping) and "error" in on_none:
            kind, message = "error", I18nText.of(on_none["error"])
        elif isinstance(on_none, Mapping) and "default" in on_none:
            kind, default = "default", on_none["default"]
        out.append(
            LookupDefinition(
                name=name,
                form=item["form"],
                value=item["value"],
                match=frozen_mapping(match),
                trees=trees,
                ranges=tuple(
                    LookupRange(target, op, expr)
                    for target, spec in (item.get("ranges") or {}).items()
                    for op, expr in spec.items()
                ),
                effective=LookupEffective(
                    effective.get("from"), effective.get("to"), effective["date"]
                )
                if isinstance(effective, Mapping)
                else None,
                where=item.get("where"),
                rank=tuple(item.get("rank") or ()),
                on_none=kind,
                default=default,
                message=message,
                location=location_of(("lookups", name)),
            )
        )
    return tuple(out)


def _split_match(data: Any) -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    """(target field -> expression, (target field, tree) pairs) of a ``match:`` mapping
    whose entries are an expression or ``{value: expression, tree: name}``."""
    match: dict[str, str] = {}
    trees: list[tuple[str, str]] = []
    for target, spec in (data or {}).items():
        if isinstance(spec, Mapping):
            match[target] = spec["value"]
            trees.append((target, spec["tree"]))
        else:
            match[target] = spec
    return match, tuple(trees)


def build_versions(data: Any) -> VersionsDefinition | None:
    """The ``versions:`` declaration of a checked form document, or None."""
    if not isinstance(data, Mapping):
        return None
    return VersionsDefinition(
        number=data["number"],
        effective_from=data["effective_from"],
        effective_to=data.get("effective_to"),
        key=tuple(data.get("key") or ()),
    )


# -- JSON Schema ------------------------------------------------------------------------
_EXPR = {"type": "string", "description": "an expression (docs/expressions.md)"}
_TEXT = {"type": "string"}

LOOKUP_DEFS: dict[str, Any] = {
    "lookups": {
        "type": "object",
        "description": "named best-match lookups into another form (docs/lookups.md)",
        "additionalProperties": {"$ref": "#/$defs/lookup"},
    },
    "lookup": {
        "type": "object",
        "required": ["form", "value"],
        "additionalProperties": False,
        "properties": {
            "form": {"type": "string", "description": "the form whose rows are searched"},
            "match": {
                "type": "object",
                "description": "target field -> expression (or {value, tree}); a blank "
                "target value matches anything",
                "additionalProperties": {
                    "anyOf": [
                        _EXPR,
                        {
                            "type": "object",
                            "required": ["value", "tree"],
                            "additionalProperties": False,
                            "description": "the values are nodes of an organisation tree: "
                            "a row naming an ancestor of the record's value matches too, "
                            "the nearest first",
                            "properties": {
                                "value": _EXPR,
                                "tree": {"enum": list(MATCH_TREES)},
                            },
                        },
                    ]
                },
            },
            "ranges": {
                "type": "object",
                "description": "target field -> {at_most|below|at_least|above: expression}",
                "additionalProperties": {
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": 1,
                    "additionalProperties": False,
                    "properties": {op: _EXPR for op in RANGE_OPERATORS},
                },
            },
            "effective": {
                "type": "object",
                "required": ["date"],
                "additionalProperties": False,
                "description": "validity dates of the target rows (end inclusive, blank "
                "open) and the record's date",
                "properties": {"from": _TEXT, "to": _TEXT, "date": _EXPR},
            },
            "where": {**_EXPR, "description": "a condition over the target row"},
            "rank": {
                "type": "array",
                "items": _TEXT,
                "description": "specificity, most important first",
            },
            "value": {"type": "string", "description": "the target field MATCH returns"},
            "on_none": {
                "description": "when nothing matches: blank, {default: value} or {error: message}",
                "anyOf": [
                    {"enum": ["blank"]},
                    {
                        "type": "object",
                        "required": ["error"],
                        "additionalProperties": False,
                        "properties": {"error": {"$ref": "#/$defs/i18n"}},
                    },
                    {
                        "type": "object",
                        "required": ["default"],
                        "additionalProperties": False,
                        "properties": {"default": {}},
                    },
                ],
            },
        },
    },
    "versions": {
        "type": "object",
        "required": ["number", "effective_from"],
        "additionalProperties": False,
        "description": "the fields of a versioned reference record (docs/lookups.md)",
        "properties": {
            "key": {"type": "array", "items": _TEXT, "description": "fields shared by a series"},
            "number": {"type": "string", "description": "the version number field"},
            "effective_from": {"type": "string", "description": "the first valid date field"},
            "effective_to": {"type": "string", "description": "the last valid date field"},
        },
    },
}

#: the form keys this module adds (merged into the form schema's properties)
FORM_PROPERTIES: dict[str, Any] = {
    "lookups": {"$ref": "#/$defs/lookups"},
    "lock_when": {
        **_EXPR,
        "description": "records for which this holds are locked: change them by a new version",
    },
    "versions": {"$ref": "#/$defs/versions"},
}


# -- stored form (engine.store.definition_data) ------------------------------------------
def lookups_from_data(data: Any) -> tuple[LookupDefinition, ...]:
    """Lookups rebuilt from ``model.to_data`` output (a published version's JSON)."""
    out = []
    for item in data or ():
        effective = item.get("effective")
        out.append(
            LookupDefinition(
                name=item["name"],
                form=item["form"],
                value=item["value"],
                match=frozen_mapping(dict(item.get("match") or {})),
                trees=tuple((str(k), str(t)) for k, t in item.get("trees", ())),
                ranges=tuple(
                    LookupRange(r["field"], r["operator"], r["expr"])
                    for r in item.get("ranges", ())
                ),
                effective=LookupEffective(
                    effective.get("from_field"), effective.get("to_field"), effective["date"]
                )
                if effective
                else None,
                where=item.get("where"),
                rank=tuple(item.get("rank", ())),
                on_none=item.get("on_none", "blank"),
                default=item.get("default"),
                message=I18nText.of(item.get("message")),
            )
        )
    return tuple(out)


def versions_from_data(data: Any) -> VersionsDefinition | None:
    """``versions`` rebuilt from ``model.to_data`` output."""
    if not data:
        return None
    return VersionsDefinition(
        number=data["number"],
        effective_from=data["effective_from"],
        effective_to=data.get("effective_to"),
        key=tuple(data.get("key", ())),
    )
