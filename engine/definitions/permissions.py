"""Permission values of a form: which app role may do what, on which rows, with which fields.

Written in a form's ``permissions:`` section (docs/permissions.md)::

    permissions:
      dealer_admin:
        can: [create, read, update]
        rows: {dealer_tree: dealer}     # the record's dealer is mine or below mine
        fields: {base_price: hidden, grade: readonly}
      finance: {can: all}

Pure values: the service turns them into SQL row conditions (engine/service/
permissions.py). Deny unless granted; several grants of one person combine as a union.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field

from engine.definitions.model import SourceSpan

#: what a grant may allow, in the order they are listed
ACTIONS = ("create", "read", "update", "delete", "export", "import")
#: row rules that read no field of the record
PLAIN_RULES = ("all", "own")
#: row rules that read one or more fields of the record (the field types they accept)
FIELD_RULES: dict[str, tuple[str, ...]] = {
    "department": ("department",),
    "department_tree": ("department",),
    "region": ("region", "dealer"),
    "region_tree": ("region", "dealer"),
    "dealer": ("dealer",),
    "dealer_tree": ("dealer",),
    "assigned": ("user", "dealer"),
}
EXPRESSION_RULE = "expr"
RULE_KINDS = (*PLAIN_RULES, *FIELD_RULES, EXPRESSION_RULE)
#: per-field access a grant may narrow
FIELD_ACCESS = ("hidden", "readonly")


@dataclass(frozen=True)
class RowRule:
    """One row rule: ``own``, ``dealer_tree`` over the field ``dealer``, an expression..."""

    kind: str
    #: the record fields the rule reads (resolved at load when the form has one candidate)
    fields: tuple[str, ...] = ()
    expr: str | None = None


@dataclass(frozen=True)
class Grant:
    """What the members of one app role may do with one form."""

    role: str
    actions: tuple[str, ...]
    #: rows the grant covers: the union of its rules (``all`` when none is written)
    rows: tuple[RowRule, ...] = (RowRule("all"),)
    hidden: tuple[str, ...] = ()
    readonly: tuple[str, ...] = ()
    location: SourceSpan | None = dc_field(default=None, compare=False, repr=False)

    def allows(self, action: str) -> bool:
        return action in self.actions

    @property
    def all_rows(self) -> bool:
        return any(rule.kind == "all" for rule in self.rows)


def default_rule_fields(kind: str, field_types: dict[str, str | None]) -> tuple[str, ...]:
    """The field a rule written without one reads: the form's only field of a fitting type.

    ``field_types`` maps the form's top-level field keys to their types. For ``region``
    rules a region field is preferred, then a dealer field (its owning region). Empty
    when there is none, or several to choose from (the loader asks to name one).
    """
    for wanted in FIELD_RULES[kind]:
        found = tuple(key for key, type_name in field_types.items() if type_name == wanted)
        if len(found) == 1:
            return found
        if found:
            return ()
    return ()


def read_row_rule(item: object, field_types: dict[str, str | None]) -> RowRule:
    """A :class:`RowRule` from its YAML form (already schema-checked)."""
    if isinstance(item, str):
        if item in FIELD_RULES:
            return RowRule(item, default_rule_fields(item, field_types))
        return RowRule(item)
    assert isinstance(item, dict) and len(item) == 1
    kind, value = next(iter(item.items()))
    if kind == EXPRESSION_RULE:
        return RowRule(kind, expr=str(value))
    return RowRule(kind, tuple([value] if isinstance(value, str) else value))


def read_grant(role: str, data: dict, field_types: dict[str, str | None], **extra: object) -> Grant:
    """A :class:`Grant` from a role's entry of ``permissions:`` (already schema-checked)."""
    can = data.get("can")
    actions = ACTIONS if can == "all" else tuple(a for a in ACTIONS if a in (can or ()))
    rows = data.get("rows", "all")
    items = rows if isinstance(rows, list) else [rows]
    access = data.get("fields") or {}
    return Grant(
        role,
        actions,
        tuple(read_row_rule(item, field_types) for item in items),
        tuple(sorted(k for k, v in access.items() if v == "hidden")),
        tuple(sorted(k for k, v in access.items() if v == "readonly")),
        **extra,  # type: ignore[arg-type]
    )
