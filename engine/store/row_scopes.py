"""Row rules as SQL: the actor's permitted rows become a condition with bound parameters.

:class:`GrantedScope` is the :class:`~engine.store.records.RowScope` of an actor: the
record source asks it for the condition on each form it reads (its own rows and every
related row it joins), and for the fields the actor may not see. Which rules apply to
which form and action is decided by the service (engine/service/permissions.py, the one
place); this module only turns a rule into SQL over the form's table and the
organisation's closure tables. Nothing is filtered in Python.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement

from engine.definitions.model import FormDefinition
from engine.definitions.permissions import RowRule
from engine.errors import ServiceError
from engine.fields.base import FieldValueError
from engine.org.principal import Principal
from engine.store.driver import DriverStatement
from engine.store.form_tables import FormTables
from engine.store.forms import StoredForm
from engine.store.org_tables import (
    org_dealer_paths,
    org_dealers,
    org_department_paths,
    org_region_paths,
)
from engine.store.records import RowScope

#: form -> the rules whose union is visible (None: every row; (): no row)
RulesOf = Callable[[FormDefinition], tuple[RowRule, ...] | None]
#: form -> keys of the fields the actor may not see
HiddenOf = Callable[[FormDefinition], frozenset[str]]


class RowRuleError(ServiceError):
    """A row rule that cannot be applied to the stored form (a definition out of step)."""


class GrantedScope(RowScope):
    """The rows (and fields) of each form one actor may see, for one action.

    With ``statements`` (a dict kept until the organisation changes) and an
    ``identity`` (who, which form, which action), the scoped one-row read of each form
    is compiled once and run on the driver's fast path afterwards: the write path reads
    a row or two per call, and building the condition cost more than the query.
    """

    def __init__(
        self,
        principal: Principal,
        rules_of: RulesOf,
        hidden_of: HiddenOf,
        statements: dict[tuple[Any, ...], Any] | None = None,
        identity: tuple[Any, ...] | None = None,
    ):
        self.principal = principal
        self._rules_of = rules_of
        self._hidden_of = hidden_of
        self._statements = statements
        self._identity = identity

    def cache_key(self) -> Any | None:
        # the identity names who (as of which organisation generation), with which app
        # roles, for which form and action: everything condition() and hidden_fields() read
        return self._identity

    def live_statement(self, form: StoredForm, for_update: bool) -> DriverStatement | None:
        if self._rules_of(form.tables.form) is None:  # every row: the form's own statements
            return form.lock_live if for_update else form.fetch_live
        if self._statements is None or self._identity is None:
            return None
        key = (*self._identity, form.app, form.key, form.version_no, for_update)
        found = self._statements.get(key)
        if found is None:
            condition = self.condition(form.tables, form.tables.table)
            stmt = form.select_live if condition is None else form.select_live.where(condition)
            if for_update:
                stmt = stmt.with_for_update()
            found = self._statements[key] = DriverStatement(stmt)
        return found

    def condition(self, tables: FormTables, table: Any) -> Any | None:
        rules = self._rules_of(tables.form)
        if rules is None:
            return None
        if not rules:
            return sa.false()
        conditions = [rule_condition(rule, tables, table, self.principal) for rule in rules]
        return conditions[0] if len(conditions) == 1 else sa.or_(*conditions)

    def hidden_fields(self, tables: FormTables) -> frozenset[str]:
        return self._hidden_of(tables.form)


def rule_condition(rule: RowRule, tables: FormTables, table: Any, who: Principal) -> Any:
    """One row rule as a condition on ``table`` (the form's table or an alias of it)."""
    kind = rule.kind
    if kind == "all":
        return sa.true()
    if kind == "own":
        return table.c.created_by == who.login
    if kind == "expr":
        from engine.expressions import compile_expression

        tree = compile_expression(rule.expr or "").to_json()["tree"]
        return _Translator(tables, table, who).condition(tree)
    parts = [_field_rule(kind, tables, table, key, who) for key in rule.fields]
    if not parts:
        return sa.false()
    return parts[0] if len(parts) == 1 else sa.or_(*parts)


def bound_tree_condition(
    tree: dict[str, Any],
    tables: FormTables,
    table: Any,
    who: Principal,
    record: Mapping[str, Any],
) -> tuple[Any, dict[str, tuple[str, Callable[[Any], Any]]]]:
    """A checked condition tree as SQL on ``table``, each filled ``record.x`` a named parameter
    (``record_x``): the condition and, per parameter, (the field, its coercion), so the
    statement can be kept and run with the values of other records that are blank in
    the same places (see engine/store/form_aggregates.py)."""
    translator = _Translator(tables, table, who, record)
    translator.bound = {}
    return translator.condition(tree), translator.bound


def record_value(given: Any, coerce: Callable[[Any], Any]) -> Any:
    """A record's value (``record.x``) in the stored form of the column it is compared
    with: read as JSON input would be, then converted as the column stores it."""
    if isinstance(given, date | datetime):
        given = given.isoformat()
    elif isinstance(given, Decimal):
        given = str(given)
    return coerce(given)


def _column(tables: FormTables, table: Any, key: str) -> tuple[Any, str, bool]:
    """(column, field type, holds a JSON list) of a field the rule reads."""
    fc = tables.fields.get(key)
    if fc is None:
        raise RowRuleError(
            f"{tables.form.key}: a permission row rule reads the missing field {key!r}"
        )
    return table.c[fc.names[0]], fc.field.type, fc.specs[0].kind == "json"


def _field_rule(kind: str, tables: FormTables, table: Any, key: str, who: Principal) -> Any:
    column, field_type, many = _column(tables, table, key)
    if kind == "assigned":
        if field_type == "dealer":
            return _in(
                column,
                many,
                sa.select(org_dealers.c.code).where(org_dealers.c.sales_rep == who.login),
            )
        return JsonListContains(column, who.login) if many else column == who.login
    if kind in ("department", "department_tree"):
        if not who.departments:
            return sa.false()
        if kind == "department":
            return _in(column, many, list(who.departments))
        return _in(column, many, _below(org_department_paths, who.departments))
    if kind in ("dealer", "dealer_tree"):
        if who.dealer is None:
            return sa.false()
        if kind == "dealer":
            return _in(column, many, [who.dealer])
        return _in(column, many, _below(org_dealer_paths, (who.dealer,)))
    # region, region_tree: a region field, or a dealer field read through its owning region
    if not who.regions:
        return sa.false()
    regions: Any = list(who.regions) if kind == "region" else _below(org_region_paths, who.regions)
    if field_type == "dealer":
        region_of = org_dealers.c.region
        where = _any_of(region_of, regions) if isinstance(regions, list) else region_of.in_(regions)
        return _in(column, many, sa.select(org_dealers.c.code).where(where))
    return _in(column, many, regions)


def _below(paths: sa.Table, ancestors: tuple[str, ...]) -> Any:
    """The codes at or below any of ``ancestors`` in a tree (its closure table)."""
    return sa.select(paths.c.descendant).where(_any_of(paths.c.ancestor, list(ancestors)))


def _any_of(column: Any, values: list[Any]) -> Any:
    """``column`` equals one of a few values, with one plain bind each (no expanding
    IN list, so the statement can be compiled once and run on the driver's fast path)."""
    if len(values) == 1:
        return column == values[0]
    return sa.or_(*(column == v for v in values))


def _in(column: Any, many: bool, values: Any) -> Any:
    if not many:
        return _any_of(column, values) if isinstance(values, list) else column.in_(values)
    if isinstance(values, list):
        return sa.or_(*(JsonListContains(column, v) for v in values))
    raise RowRuleError("a tree row rule cannot read a field that holds several codes")


class JsonListContains(ColumnElement[bool]):
    """A JSON list column holds ``value`` (SQLite json_each, PostgreSQL jsonb @>)."""

    inherit_cache = False
    type = sa.Boolean()

    def __init__(self, column: Any, value: str):
        self.column = column
        self.value = value


@compiles(JsonListContains, "sqlite")
def _contains_sqlite(element: JsonListContains, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    value = compiler.process(sa.bindparam(None, element.value, type_=sa.String), **kw)
    return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = {value})"


@compiles(JsonListContains, "postgresql")
def _contains_postgresql(element: JsonListContains, compiler: Any, **kw: Any) -> str:
    import json

    column = compiler.process(element.column, **kw)
    value = compiler.process(sa.bindparam(None, json.dumps([element.value]), type_=sa.String), **kw)
    return f"(CAST({column} AS JSONB) @> CAST({value} AS JSONB))"


_COMPARE = {
    "==": lambda c, v: c == v,
    "!=": lambda c, v: sa.or_(c != v, c.is_(None)),
    "<": lambda c, v: c < v,
    "<=": lambda c, v: c <= v,
    ">": lambda c, v: c > v,
    ">=": lambda c, v: c >= v,
}
_SYSTEM = {"id", "status", "title", "created_at", "updated_at", "created_by", "updated_by"}


class _Translator:
    """A checked expression tree (engine.expressions.row_conditions) as SQL."""

    def __init__(
        self,
        tables: FormTables,
        table: Any,
        who: Principal,
        record: Mapping[str, Any] | None = None,
    ):
        self.tables, self.table, self.who = tables, table, who
        #: the declaring record's values, for ``record.x`` (an aggregate's where)
        self.record = record or {}
        #: when set, filled ``record.x`` values become named parameters (``record_x``) so
        #: the statement can be kept and run again with other values: name -> (field,
        #: the compared column's coercion)
        self.bound: dict[str, tuple[str, Callable[[Any], Any]]] | None = None
        self.actor_values = {
            "CURRENT_USER": who.login,
            "CURRENT_DEPARTMENT": who.department,
            "CURRENT_DEALER": who.dealer,
            "CURRENT_REGION": who.region,
        }

    def condition(self, node: dict[str, Any]) -> Any:
        op = node["op"]
        if op == "and":
            return sa.and_(*(self.condition(a) for a in node["args"]))
        if op == "or":
            return sa.or_(*(self.condition(a) for a in node["args"]))
        if op == "unary":
            return sa.not_(self.condition(node["operand"]))
        if op == "name":
            column, _coerce = self.name(node["name"])
            return column.is_(True) if isinstance(column.type, sa.Boolean) else column.is_not(None)
        if op == "compare":
            return self.compare(node)
        raise RowRuleError(f"{self.tables.form.key}: the row rule cannot be applied ({op})")

    def name(self, key: str) -> tuple[Any, Callable[[Any], Any]]:
        if key in _SYSTEM:
            return self.table.c[key], lambda v: v
        fc = self.tables.fields.get(key)
        if fc is None or len(fc.specs) != 1:
            raise RowRuleError(f"{self.tables.form.key}: the row rule reads {key!r}, not a column")

        def coerce(value: Any) -> Any:
            try:
                typed = fc.type.coerce(fc.field, value, "json")
            except FieldValueError as exc:
                raise RowRuleError(
                    f"{self.tables.form.key}: the row rule compares {key} with {value!r}: {exc}"
                ) from None
            return fc.type.to_storage(fc.field, typed).get(fc.names[0])

        return self.table.c[fc.names[0]], coerce

    def compare(self, node: dict[str, Any]) -> Any:
        operator = node["operators"][0]
        left, right = node["operands"]
        column, coerce = self.name(left["name"])
        if operator in ("in", "not in"):
            values = [self.value(item, coerce, column) for item in right["items"]]
            known = [v for v in values if v is not None]
            if operator == "in":
                return _any_of(column, known) if known else sa.false()
            if not known:
                return sa.true()
            return sa.or_(sa.not_(_any_of(column, known)), column.is_(None))
        if right.get("op") == "call":
            value = self.actor_values.get(right["function"])
            if value is None:  # an actor without a dealer matches no dealer's rows
                return sa.false() if operator != "!=" else sa.true()
            return _COMPARE[operator](column, value)
        value = self.value(right, coerce, column)
        if value is None or value == "":
            blank = column.is_(None) if value is None else sa.or_(column.is_(None), column == "")
            return blank if operator == "==" else sa.not_(blank)
        return _COMPARE[operator](column, value)

    def value(self, node: dict[str, Any], coerce: Callable[[Any], Any], column: Any = None) -> Any:
        op = node["op"]
        if op == "record":  # bound as a parameter, in the compared column's stored form
            given = self.record.get(node["field"])
            if given is None or given == "":
                return given
            converted = record_value(given, coerce)
            if self.bound is None or column is None:
                return converted
            name = f"record_{node['field']}"
            self.bound.setdefault(name, (node["field"], coerce))
            return sa.bindparam(name, converted, type_=column.type)
        if op == "call":
            return self.actor_values.get(node["function"])
        if op == "unary":
            return coerce(-Decimal(node["operand"]["value"]))
        if op == "number":
            return coerce(Decimal(node["value"]))
        if op == "text":
            return node["value"] if node["value"] == "" else coerce(node["value"])
        return node["value"] if node["value"] in (None, True, False) else coerce(node["value"])
