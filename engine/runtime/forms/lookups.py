"""MATCH at run time: a form's declared lookups evaluated for one submission.

The runtime stays free of SQL: it evaluates a lookup's match, range and date
expressions over the record (or a sub-table row, then the record), and hands the
resulting :class:`MatchQuery` to the environment's ``best_match`` callback, which the
service answers with ONE query through the store's record source. Answers are cached
per submission for identical arguments, so ten lines of the same SKU and quantity cost
one query.

When no row matches, the lookup's ``on_none`` decides: blank, a default value, or a
:class:`NoMatch` error that preparation reports on the field (and row) being computed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from engine.definitions.model import FormDefinition
from engine.errors import ExpressionError
from engine.expressions import CompiledExpression, EvaluationContext, compile_expression


@dataclass(frozen=True)
class MatchQuery:
    """What the database is asked: the best row of ``lookup.form`` for these values.

    ``equals``: (target field, value) pairs; ``bounds``: (target field, operator, value)
    with an operator of engine.definitions.lookups.RANGE_OPERATORS; ``on``: the date the
    validity range is judged on (None when the lookup has no ``effective``).
    """

    lookup: Any  # engine.definitions.lookups.LookupDefinition
    equals: tuple[tuple[str, Any], ...]
    bounds: tuple[tuple[str, str, Any], ...]
    on: date | None


#: (query) -> the best row's values (with id), or None when no row matches
BestMatch = Callable[[MatchQuery], Mapping[str, Any] | None]


class NoMatch(ExpressionError):
    """No row matched a lookup whose ``on_none`` is an error: its message, per locale."""

    def __init__(self, lookup: Any):
        self.lookup = lookup
        super().__init__(lookup.message.get("en") if lookup.message else "no row matches")

    def in_locale(self, locale: str) -> str:
        """The lookup's own message in ``locale``."""
        return self.lookup.message.get(locale) if self.lookup.message else self.message


@dataclass(frozen=True)
class LookupPlan:
    """A lookup with its expressions compiled once per form version."""

    definition: Any
    equals: tuple[tuple[str, CompiledExpression], ...]
    bounds: tuple[tuple[str, str, CompiledExpression], ...]
    on: CompiledExpression | None


_plans: dict[str, Mapping[str, LookupPlan]] = {}


def lookup_plans(form: FormDefinition) -> Mapping[str, LookupPlan]:
    """The form's lookups compiled (cached by the form's content hash).

    The names were checked at load; here the expressions compile without a scope (they
    read the record's names, or a row's then the record's, whichever MATCH runs in).
    """
    lookups = getattr(form, "lookups", ())
    if not lookups:
        return {}
    memo = form.__dict__.get("_lookup_plans")
    if memo is not None:
        return memo  # hashing the form per submission would cost more than the lookups
    digest = form.content_hash
    found = _plans.get(digest)
    if found is None:
        found = {
            item.name: LookupPlan(
                item,
                tuple((k, compile_expression(v)) for k, v in item.match.items()),
                tuple((r.field, r.operator, compile_expression(r.expr)) for r in item.ranges),
                compile_expression(item.effective.date) if item.effective else None,
            )
            for item in lookups
        }
        if len(_plans) > 256:
            _plans.clear()
        _plans[digest] = found
    object.__setattr__(form, "_lookup_plans", found)  # a frozen value's private memo
    return found


def lookup_inputs(form: FormDefinition) -> dict[str, frozenset[str]]:
    """Lookup name -> the names its expressions read (for the expression scopes)."""
    out: dict[str, frozenset[str]] = {}
    for name, plan in lookup_plans(form).items():
        names: set[str] = set()
        for _key, expr in plan.equals:
            names |= expr.names
        for _key, _op, expr in plan.bounds:
            names |= expr.names
        if plan.on is not None:
            names |= plan.on.names
        out[name] = frozenset(names)
    return out


class Matcher:
    """``EvaluationContext.match`` for one submission: evaluate, ask, cache, apply on_none."""

    __slots__ = ("_plans", "_find", "_context", "_cache")

    def __init__(self, form: FormDefinition, find: BestMatch | None, context: EvaluationContext):
        self._plans = lookup_plans(form)
        self._find = find
        self._context = context
        self._cache: dict[tuple[Any, ...], Mapping[str, Any] | None] = {}

    def __call__(self, name: str, values: Mapping[str, Any], field: str | None) -> Any:
        plan = self._plans.get(name)
        if plan is None:
            raise ExpressionError(f"the form has no lookup '{name}'")
        if self._find is None:
            raise ExpressionError(
                f"MATCH({name!r}) cannot read other records here",
                hint="MATCH is evaluated when the record is saved",
            )
        context = self._context
        equals = tuple((key, expr.evaluate(values, context)) for key, expr in plan.equals)
        bounds = tuple((key, op, expr.evaluate(values, context)) for key, op, expr in plan.bounds)
        on = plan.on.evaluate(values, context) if plan.on is not None else None
        if isinstance(on, datetime):
            on = on.astimezone(context.timezone).date()
        definition = plan.definition
        if plan.on is not None and on is None:
            row = None  # no date, no version is effective
        else:
            key = (name, equals, bounds, on)
            if key not in self._cache:
                self._cache[key] = self._find(MatchQuery(definition, equals, bounds, on))
            row = self._cache[key]
        wanted = field or definition.value
        if row is not None:
            return row.get(wanted)
        if definition.on_none == "error":
            raise NoMatch(definition)
        if definition.on_none == "default" and wanted == definition.value:
            return definition.default
        return None
