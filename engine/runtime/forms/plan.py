"""The compiled shape of a form: one :class:`FieldPlan` per field and column.

Everything that does not depend on a record is worked out here once per definition
version: the field type of each field, every expression compiled against its scope,
the relation targets and the order in which formulas must be computed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.definitions.model import FieldDefinition, FormDefinition, I18nText, Validation
from engine.expressions import CompiledExpression
from engine.fields.base import FieldType

#: type names the runtime treats specially (everything else is plain input)
FORMULA = "formula"
SUBTABLE = "subtable"
RELATION = "relation"
#: types whose options may come from another form's records
CHOICES = frozenset({"select", "multiselect"})

#: the expressions a field may carry, in the order they are compiled
FIELD_EXPRESSIONS = ("formula", "default_expr", "visible_if", "required_if", "readonly_if")


@dataclass(frozen=True, eq=False)
class FieldPlan:
    """One field (or sub-table column) with its type and compiled expressions.

    The derived attributes (key, path, flags, column index) are worked out once here:
    prepare() reads them for every field of every row.
    """

    definition: FieldDefinition
    field_type: FieldType
    subtable: str | None = None
    expressions: Mapping[str, CompiledExpression] = field(default_factory=dict)
    columns: tuple[FieldPlan, ...] = ()
    #: a relation's ``filter`` or an options-from ``filter``, over the OTHER form's fields
    target_filter: CompiledExpression | None = None
    #: a sub-table's row validations, each checked on every row
    validations: tuple[ValidationPlan, ...] = ()
    key: str = field(init=False)
    #: ``qty`` for a field, ``lines.qty`` for a sub-table column (as in RecordError)
    path: str = field(init=False)
    label: I18nText = field(init=False)
    is_formula: bool = field(init=False)
    is_subtable: bool = field(init=False)
    #: the target form of a relation field, else None
    relation_to: str | None = field(init=False)
    many: bool = field(init=False)
    #: this form's field key -> target form's field key, copied when the relation changes
    fill_from: Mapping[str, str] = field(init=False)
    #: ``{from, value, label, filter}`` of a select/multiselect taking options from a form
    options_from: Mapping[str, Any] | None = field(init=False)
    column_index: Mapping[str, FieldPlan] = field(init=False)
    #: ``coerce(raw, source)``: the field type's coerce bound to this field, with the
    #: field's options worked out once (see FieldType.coercer)
    coerce: Callable[[Any, str], Any] = field(init=False)
    #: a formula's computed value -> stored value (None for other fields)
    result: Callable[[Any], Any] | None = field(init=False)
    #: the compiled conditions, None when absent: prepare() asks for them on every
    #: field of every row, and most fields have none
    visible_if: CompiledExpression | None = field(init=False)
    required_if: CompiledExpression | None = field(init=False)
    readonly_if: CompiledExpression | None = field(init=False)
    #: read-only whatever the record holds (``readonly: true`` or a formula)
    always_readonly: bool = field(init=False)

    def __post_init__(self) -> None:
        d = self.definition
        is_formula = d.type == FORMULA
        if is_formula:
            from engine.fields.formula import result_converter

            result = result_converter(d)
        else:
            result = None
        derived = {
            "key": d.key,
            "path": f"{self.subtable}.{d.key}" if self.subtable else d.key,
            "label": d.label,
            "is_formula": d.type == FORMULA,
            "is_subtable": d.type == SUBTABLE,
            "relation_to": d.option("to") if d.type == RELATION else None,
            "many": bool(d.option("many", False)),
            "fill_from": d.option("fill_from") or {},
            "options_from": _options_from(d),
            "column_index": {c.definition.key: c for c in self.columns},
            "coerce": self.field_type.coercer(d),
            "result": result,
            "visible_if": self.expressions.get("visible_if"),
            "required_if": self.expressions.get("required_if"),
            "readonly_if": self.expressions.get("readonly_if"),
            "always_readonly": bool(d.readonly) or is_formula,
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)

    def column(self, key: str) -> FieldPlan | None:
        return self.column_index.get(key)

    def is_blank(self, value: Any) -> bool:
        return self.field_type.is_blank(value)


def _options_from(d: FieldDefinition) -> Mapping[str, Any] | None:
    options = d.option("options") if d.type in CHOICES else None
    if isinstance(options, Mapping) and options.get("from"):
        return options
    return None


@dataclass(frozen=True)
class ValidationPlan:
    """A validation with its compiled rule and the names it reads.

    For a form validation ``inputs`` are top-level fields; for a sub-table's row
    validation they are the row's columns and the parent's fields.
    """

    validation: Validation
    expression: CompiledExpression
    inputs: frozenset[str]
    #: compiled Jinja message per locale when the message is a template, else None
    templates: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class FormPlan:
    """Everything about a form that prepare(), field_states() and render_title() reuse."""

    form: FormDefinition
    fields: tuple[FieldPlan, ...]
    index: Mapping[str, FieldPlan]
    #: formula fields and formula columns, each after everything it reads
    formula_order: tuple[FieldPlan, ...]
    #: top-level fields that can take a default: literal ones first, then default_expr
    #: ones each after the defaults it reads
    default_order: tuple[FieldPlan, ...]
    validations: tuple[ValidationPlan, ...]
    #: relation field key (top-level or column) -> target form key, for LOOKUP
    relation_targets: Mapping[str, str]
    title_template: Any | None
    #: the first text field, used for a title when the form declares none
    fallback_title_field: FieldPlan | None
    #: True when a field or column takes its options from another form (checked on save)
    has_option_sources: bool = False
