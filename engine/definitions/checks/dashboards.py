"""Semantic checks of dashboard documents, each problem located at its YAML node.

- the dashboard key is an identifier, unique in the app; roles are roles of the app;
- each widget's source is a form of the app; every path (dimension, pivot column,
  measure argument, table field, KPI date, sort key) resolves on it: each step but the
  last is a relation or a sub-table of the source form, the last a field or a system
  column (status, created_at, updated_at, created_by, id); one widget reaches at most
  one sub-table (its grain: it then counts lines);
- a measure is arithmetic over aggregates (MeasureSyntaxError, located at the column);
  SUM/AVG need a numeric field (number, money, percent, a formula with such a result),
  MIN/MAX a numeric or date field; SUM/AVG of a parent-level field in a widget whose
  grain is a sub-table would count each parent once per line, so it is refused;
- a bucket is one of BUCKETS, on a date or datetime field;
- a widget's filter is a row condition the database can apply (as a job's where);
- what each kind needs (line: a bucketed first dimension; pie, funnel, ranking: one
  dimension and one measure; pivot: rows and columns; table: fields; kpi: a date and one
  measure; compare: target needs a target), and options only of the kinds that use them;
- a dashboard filter maps to a field of some widget's source, of a type its filter type
  can filter; interactions name a widget and a filter of the dashboard.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from engine.definitions.checks.expressions import scope_for
from engine.definitions.checks.identifiers import identifier_error
from engine.definitions.checks.jobs import value_type
from engine.definitions.checks.rules import DATE_TYPES, NUMBER_TYPES
from engine.definitions.context import AppContext, FieldSite, FormInfo
from engine.definitions.dashboards import BUCKETS, MeasureSyntaxError, measure_aggregates
from engine.definitions.source import Path, Source
from engine.errors import DefinitionError, ExpressionError

#: system columns a path may end in, and the type of value each holds
SYSTEM_COLUMNS = {
    "status": "status",
    "created_at": "datetime",
    "updated_at": "datetime",
    "created_by": "user",
    "id": "id",
}
#: the field types each dashboard filter type can filter
FILTER_FIELD_TYPES = {
    "date_range": DATE_TYPES,
    "select": frozenset({"select", "status"}),
    "user": frozenset({"user"}),
    "department": frozenset({"department"}),
    "region": frozenset({"region"}),
    "dealer": frozenset({"dealer"}),
    "relation": frozenset({"relation"}),
}
#: widget options and the kinds that read them
KIND_OPTIONS = {
    "stacked": ("bar", "line"),
    "horizontal": ("bar", "ranking"),
    "area": ("line",),
    "donut": ("pie",),
    "others": ("ranking",),
    "subtotals": ("pivot",),
    "steps": ("funnel",),
    "cumulative": ("funnel",),
    "columns": ("pivot",),
    "fields": ("table",),
    "page_size": ("table",),
    "date": ("kpi",),
    "period": ("kpi",),
    "compare": ("kpi",),
    "target": ("kpi",),
    "sparkline": ("kpi",),
}
#: kinds that take exactly one dimension and one measure
ONE_BY_ONE = ("pie", "funnel", "ranking")


def _hint(word: Any, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(str(word), sorted(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else None


@dataclass(frozen=True)
class Resolved:
    """Where a path leads: the type of its value and the sub-table it goes through."""

    type: str | None
    subtable: str | None = None
    site: FieldSite | None = None


class PathError(Exception):
    """A path that does not resolve: what is wrong and a hint."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint


def resolve_path(app: AppContext, form: FormInfo, path: str) -> Resolved:
    """What ``path`` names on ``form``'s rows; PathError when it names nothing."""
    steps = path.split(".")
    sites, subtable, here = form.top, None, form.key
    at_form_level = True
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        if last and at_form_level and step in SYSTEM_COLUMNS:
            return Resolved(SYSTEM_COLUMNS[step], subtable)
        site = sites.get(step)
        if site is None:
            names = [*sites, *(SYSTEM_COLUMNS if at_form_level else ())]
            where = f"form {here!r}" if at_form_level else f"sub-table {here!r}"
            raise PathError(f"{where} has no field {step!r}", _hint(step, names))
        if last:
            if site.type == "subtable":
                raise PathError(
                    f"{step!r} is a sub-table, not a value",
                    f"name one of its columns: {step}.<column>",
                )
            if site.type == "relation" and site.definition.get("many"):
                raise PathError(
                    f"{step!r} holds several records (many: true): a report cannot group "
                    "or count by it",
                    "use a single relation, or a sub-table with one relation per line",
                )
            return Resolved(value_type(site), subtable, site)
        if site.type == "relation" and site.definition.get("many"):
            raise PathError(
                f"{step!r} holds several records (many: true): a path cannot pass through it",
                "use a single relation, or a sub-table with one relation per line",
            )
        if site.type == "relation":
            target = app.forms.get(site.definition.get("to"))
            if target is None:
                raise PathError(f"relation {step!r} leads to no form of the app")
            sites, here, at_form_level = target.top, target.key, True
        elif site.type == "subtable":
            if i != 0:
                raise PathError(
                    f"{step!r} is a sub-table of related form {here!r}: a widget reaches "
                    "only its source form's sub-tables",
                    "make that form the widget's source",
                )
            sites, subtable, here, at_form_level = form.columns(site), step, step, False
        else:
            raise PathError(
                f"{step!r} is a {site.type} field: only a relation or a sub-table leads on",
                f"end the path at {'.'.join(steps[: i + 1])}",
            )
    raise PathError("an empty path")  # pragma: no cover - split gives one step at least


def check_dashboards(app: AppContext) -> Iterator[DefinitionError]:
    """Every dashboard document of the app."""
    seen: dict[str, Source] = {}
    roles = app.app.get(("roles",)) if app.app is not None else None
    role_keys = set(roles) if isinstance(roles, dict) else set()
    for source in app.documents.get("dashboard", []):
        if not isinstance(source.data, dict):
            continue
        key = source.get(("dashboard",))
        if isinstance(key, str):
            problem = identifier_error(source, ("dashboard",), key, "dashboard", 60)
            if problem:
                yield problem
            elif key in seen:
                yield source.fail(
                    ("dashboard",),
                    f"dashboard {key!r} is defined twice (also in {seen[key].file})",
                    "rename one",
                )
            seen.setdefault(key, source)
        for i, role in enumerate(source.get(("roles",)) or ()):
            if isinstance(role, str) and role not in role_keys:
                yield source.fail(
                    ("roles", i),
                    f"the app has no role {role!r}",
                    _hint(role, role_keys) or "declare it under roles: in app.yaml",
                )
        yield from DashboardCheck(source, app).run()


class DashboardCheck:
    """The checks of one dashboard document against the app's forms."""

    def __init__(self, source: Source, app: AppContext):
        self.source, self.app = source, app

    def fail(self, path: Path, message: str, hint: str | None = None, **kw: Any):
        """A located error (see Source.fail)."""
        return self.source.fail(path, message, hint, **kw)

    def run(self) -> Iterator[DefinitionError]:
        widgets = self.source.get(("widgets",))
        widgets = widgets if isinstance(widgets, dict) else {}
        for key, body in widgets.items():
            path = ("widgets", key)
            problem = identifier_error(self.source, path, str(key), "widget", 60, at_key=True)
            if problem:
                yield problem
            if isinstance(body, dict):
                yield from WidgetCheck(self, path, body).run()
        filters = self.source.get(("filters",))
        filters = filters if isinstance(filters, dict) else {}
        for key, body in filters.items():
            if isinstance(body, dict):
                yield from self._filter(("filters", key), body, widgets)
        for i, item in enumerate(self.source.get(("interactions",)) or ()):
            if not isinstance(item, dict):
                continue
            name = item.get("from")
            if isinstance(name, str) and name not in widgets:
                yield self.fail(
                    ("interactions", i, "from"),
                    f"the dashboard has no widget {name!r}",
                    _hint(name, map(str, widgets)),
                )
            name = item.get("sets")
            if isinstance(name, str) and name not in filters:
                yield self.fail(
                    ("interactions", i, "sets"),
                    f"the dashboard has no filter {name!r}",
                    _hint(name, map(str, filters)) or "declare it under filters:",
                )

    # -- dashboard filters ----------------------------------------------------------------
    def _filter(self, path: Path, body: dict, widgets: dict) -> Iterator[DefinitionError]:
        kind = body.get("type")
        sources = {
            b.get("source")
            for b in widgets.values()
            if isinstance(b, dict) and isinstance(b.get("source"), str)
        }
        forms = [self.app.forms[s] for s in sorted(sources) if s in self.app.forms]
        mapped = 0
        field_path = body.get("field")
        if isinstance(field_path, str):
            for form in forms:
                try:
                    found = resolve_path(self.app, form, field_path)
                except PathError:
                    continue
                mapped += 1
                yield from self._filter_type(path, ("field",), kind, found, body, field_path)
        per_form = body.get("fields")
        if isinstance(per_form, dict):
            for form_key, text in per_form.items():
                where = (*path, "fields", form_key)
                form = self.app.forms.get(form_key)
                if form is None:
                    yield self.fail(
                        where,
                        f"the app has no form {form_key!r}",
                        _hint(form_key, self.app.forms),
                        at_key=True,
                    )
                    continue
                if form_key not in sources:
                    yield self.fail(
                        where,
                        f"no widget of the dashboard reads form {form_key!r}",
                        "map the filter to a form a widget has as its source",
                        at_key=True,
                    )
                    continue
                if not isinstance(text, str):
                    continue
                try:
                    found = resolve_path(self.app, form, text)
                except PathError as exc:
                    yield self.fail(where, exc.message, exc.hint)
                    continue
                mapped += 1
                yield from self._filter_type(path, ("fields", form_key), kind, found, body, text)
        if mapped == 0 and (isinstance(field_path, str) or per_form is None):
            yield self.fail(
                (*path, "field") if isinstance(field_path, str) else path,
                f"filter {path[-1]!r} maps to no field of any widget's source"
                + (f" ({', '.join(sorted(map(str, sources)))})" if sources else ""),
                "name a field the sources have (field:), or one per form (fields: {form: path})",
                at_key=not isinstance(field_path, str),
            )
        default = body.get("default")
        if kind == "date_range" and isinstance(default, str):
            from engine.definitions.dashboards import DATE_PRESETS

            if default not in DATE_PRESETS:
                yield self.fail(
                    (*path, "default"),
                    f"{default!r} is not a date range preset",
                    _hint(default, DATE_PRESETS) or "one of " + ", ".join(DATE_PRESETS),
                )

    def _filter_type(
        self, path: Path, key: Path, kind: Any, found: Resolved, body: dict, text: str
    ) -> Iterator[DefinitionError]:
        allowed = FILTER_FIELD_TYPES.get(kind) if isinstance(kind, str) else None
        if allowed is None:
            return
        if found.type not in allowed:
            yield self.fail(
                (*path, *key),
                f"a {kind} filter cannot filter {text!r}, a {found.type} field",
                "map it to a field of type " + " or ".join(sorted(allowed)),
            )
            return
        to = body.get("to")
        if kind == "relation" and isinstance(to, str) and found.site is not None:
            actual = found.site.definition.get("to")
            if actual != to:
                yield self.fail(
                    (*path, "to"),
                    f"the filter picks {to!r} records but {text!r} relates to {actual!r}",
                    f"to: {actual}",
                )


class WidgetCheck:
    """The checks of one widget."""

    def __init__(self, dashboard: DashboardCheck, path: Path, body: dict):
        self.d, self.path, self.body = dashboard, path, body
        self.app = dashboard.app
        self.kind = body.get("kind")
        #: the sub-table each path reaches (None: the form's own rows), by where it is
        self.grains: list[tuple[Path, str]] = []
        self.parent_sums: list[tuple[Path, str, str]] = []

    def fail(self, where: Path, message: str, hint: str | None = None, **kw: Any):
        """A located error under this widget."""
        return self.d.fail((*self.path, *where), message, hint, **kw)

    def run(self) -> Iterator[DefinitionError]:
        key = self.body.get("source")
        form = self.app.forms.get(key) if isinstance(key, str) else None
        if isinstance(key, str) and form is None:
            yield self.fail(("source",), f"the app has no form {key!r}", _hint(key, self.app.forms))
        yield from self._options()
        yield from self._needs()
        if form is None:
            return
        for name in ("dimensions", "columns"):
            for i, item in enumerate(self.body.get(name) or ()):
                yield from self._dimension(form, (name, i), item)
        measures = self.body.get("measures")
        if isinstance(measures, dict):
            for mkey, value in measures.items():
                expr = value.get("expr") if isinstance(value, dict) else value
                where: Path = (
                    ("measures", mkey, "expr")
                    if isinstance(value, dict)
                    else (
                        "measures",
                        mkey,
                    )
                )
                if isinstance(expr, str):
                    yield from self._measure(form, where, expr)
        for i, text in enumerate(self.body.get("fields") or ()):
            if isinstance(text, str):
                yield from self._resolved(form, ("fields", i), text)[0]
        date = self.body.get("date")
        if isinstance(date, str):
            yield from self._date(form, ("date",), date)
        sparkline = self.body.get("sparkline")
        if isinstance(sparkline, str) and sparkline not in BUCKETS:
            yield self.fail(
                ("sparkline",),
                f"{sparkline!r} is not a time bucket",
                _hint(sparkline, BUCKETS) or "one of " + ", ".join(BUCKETS),
            )
        text = self.body.get("filter")
        if isinstance(text, str):
            yield from self._row_condition(form, ("filter",), text)
        target = self.body.get("target")
        if isinstance(target, dict):
            yield from self._target(target)
        yield from self._grain()
        yield from self._sort()

    # -- paths ----------------------------------------------------------------------------
    def _resolved(
        self, form: FormInfo, where: Path, text: str
    ) -> tuple[list[DefinitionError], Resolved | None]:
        """What a path resolves to (or its one error); the sub-table it reaches is noted."""
        try:
            found = resolve_path(self.app, form, text)
        except PathError as exc:
            return [self.fail(where, exc.message, exc.hint)], None
        if found.subtable:
            self.grains.append((where, found.subtable))
        return [], found

    def _dimension(self, form: FormInfo, where: Path, item: Any) -> Iterator[DefinitionError]:
        if isinstance(item, str):
            errors, _ = self._resolved(form, where, item)
            yield from errors
            return
        if not isinstance(item, dict) or not isinstance(item.get("field"), str):
            return
        errors, found = self._resolved(form, (*where, "field"), item["field"])
        yield from errors
        bucket = item.get("bucket")
        if not isinstance(bucket, str):
            return
        if bucket not in BUCKETS:
            yield self.fail(
                (*where, "bucket"),
                f"{bucket!r} is not a time bucket",
                _hint(bucket, BUCKETS) or "one of " + ", ".join(BUCKETS),
            )
        elif found is not None and found.type not in DATE_TYPES:
            yield self.fail(
                (*where, "bucket"),
                f"a time bucket needs a date or datetime field; {item['field']!r} is a "
                f"{found.type} field",
                "remove bucket:, or group by a date field",
            )

    def _date(self, form: FormInfo, where: Path, text: str) -> Iterator[DefinitionError]:
        errors, found = self._resolved(form, where, text)
        yield from errors
        if found is not None and found.type not in DATE_TYPES:
            yield self.fail(
                where,
                f"{text!r} is a {found.type} field, not a date",
                "name a date or datetime field (or created_at / updated_at)",
            )

    def _measure(
        self, form: FormInfo, where: Path, expr: str, grain: bool = True
    ) -> Iterator[DefinitionError]:
        try:
            aggregates = measure_aggregates(expr)
        except MeasureSyntaxError as exc:
            yield self.fail(
                where,
                str(exc),
                "e.g. SUM(total), COUNT(), SUM(revenue) / SUM(cost)",
                text_column=exc.column,
            )
            return
        for aggregate in aggregates:
            if aggregate.path is None:
                continue
            before = len(self.grains)
            errors, found = self._resolved(form, where, aggregate.path)
            if not grain:
                del self.grains[before:]
            yield from errors
            if found is None:
                continue
            kind = found.type
            if aggregate.function in ("SUM", "AVG") and kind not in NUMBER_TYPES:
                yield self.fail(
                    where,
                    f"{aggregate.function} needs a numeric field; {aggregate.path!r} is a "
                    f"{kind} field",
                    "use COUNT or COUNT_DISTINCT, or a number, money or percent field",
                )
            elif aggregate.function in ("MIN", "MAX") and kind not in NUMBER_TYPES | DATE_TYPES:
                yield self.fail(
                    where,
                    f"{aggregate.function} needs a numeric or date field; {aggregate.path!r} "
                    f"is a {kind} field",
                )
            elif aggregate.function in ("SUM", "AVG") and found.subtable is None and grain:
                self.parent_sums.append((where, aggregate.function, aggregate.path))

    def _row_condition(self, form: FormInfo, where: Path, text: str) -> Iterator[DefinitionError]:
        from engine.expressions import compile_expression
        from engine.expressions.row_conditions import check_row_condition

        try:
            compiled = compile_expression(text, scope_for(form, self.app))
            check_row_condition(compiled.to_json()["tree"])
        except ExpressionError as exc:
            hint = exc.hint or "compare fields with values: status == 'approved' and total > 0"
            # the row-condition checker speaks of permission row rules: say "filter" here
            message = exc.message.replace("a row rule", "a widget's filter")
            yield self.fail(where, message, hint, text_column=exc.column)

    def _target(self, target: dict) -> Iterator[DefinitionError]:
        key = target.get("source")
        form = self.app.forms.get(key) if isinstance(key, str) else None
        if isinstance(key, str) and form is None:
            yield self.fail(
                ("target", "source"), f"the app has no form {key!r}", _hint(key, self.app.forms)
            )
            return
        if form is None:
            return
        expr = target.get("measure")
        if isinstance(expr, str):
            yield from self._measure(form, ("target", "measure"), expr, grain=False)
        date = target.get("date")
        if isinstance(date, str):
            before = len(self.grains)
            yield from self._date(form, ("target", "date"), date)
            del self.grains[before:]
        text = target.get("filter")
        if isinstance(text, str):
            yield from self._row_condition(form, ("target", "filter"), text)

    # -- the widget as a whole ------------------------------------------------------------
    def _grain(self) -> Iterator[DefinitionError]:
        tables = sorted({table for _, table in self.grains})
        if len(tables) > 1:
            where = next(w for w, t in self.grains if t == tables[1])
            yield self.fail(
                where,
                f"one widget reaches two sub-tables ({', '.join(tables)}): its rows would multiply",
                "use one sub-table per widget",
            )
            return
        if not tables:
            return
        for where, function, path in self.parent_sums:
            yield self.fail(
                where,
                f"{function}({path}) of a form field in a widget that counts {tables[0]} "
                f"rows adds each record once per row",
                f"use a {tables[0]}.<column> field, or COUNT_DISTINCT(id) to count records",
            )

    def _sort(self) -> Iterator[DefinitionError]:
        items = self.body.get("sort")
        if isinstance(items, str):
            entries: list[tuple[Path, Any]] = [(("sort",), items)]
        else:
            entries = [(("sort", i), v) for i, v in enumerate(items or ())]
        keys = (
            set(self.body.get("measures") or {})
            if isinstance(self.body.get("measures"), dict)
            else set()
        )
        for name in ("dimensions", "columns"):
            for item in self.body.get(name) or ():
                if isinstance(item, str):
                    keys.add(item)
                elif isinstance(item, dict) and isinstance(item.get("field"), str):
                    bucket = item.get("bucket")
                    keys.add(f"{item['field']}:{bucket}" if bucket else item["field"])
                    keys.add(item["field"])
        keys |= {f for f in self.body.get("fields") or () if isinstance(f, str)}
        for where, text in entries:
            if not isinstance(text, str):
                continue
            name = text.strip().lstrip("-+")
            if name not in keys:
                yield self.fail(
                    where,
                    f"sort key {name!r} is neither a measure nor a dimension of the widget",
                    _hint(name, map(str, keys)) or "sort by a measure key or a dimension",
                )

    def _options(self) -> Iterator[DefinitionError]:
        if not isinstance(self.kind, str):
            return
        for option, kinds in KIND_OPTIONS.items():
            if option in self.body and self.kind not in kinds:
                yield self.fail(
                    (option,),
                    f"{option} is an option of {' and '.join(kinds)} widgets, not {self.kind}",
                    f"remove {option}:",
                    at_key=True,
                )

    def _needs(self) -> Iterator[DefinitionError]:
        kind, body = self.kind, self.body
        dims = body.get("dimensions") or []
        measures = body.get("measures") if isinstance(body.get("measures"), dict) else {}
        if kind in ONE_BY_ONE and (len(dims) != 1 or len(measures) != 1):
            yield self.fail(
                (),
                f"a {kind} widget takes exactly one dimension and one measure "
                f"(it has {len(dims)} and {len(measures)})",
                "dimensions: [field] and one key under measures:",
                at_key=True,
            )
        elif kind in ("bar", "line") and (not dims or not measures):
            yield self.fail((), f"a {kind} widget needs dimensions and measures", at_key=True)
        if kind == "line" and dims:
            first = dims[0]
            if not (isinstance(first, dict) and first.get("bucket")):
                yield self.fail(
                    ("dimensions", 0),
                    "a line widget's first dimension is a time bucket of a date field",
                    "{field: needed_by, bucket: month}",
                )
        if kind == "pivot" and (not dims or not body.get("columns") or not measures):
            yield self.fail(
                (),
                "a pivot widget needs rows (dimensions:), columns (columns:) and measures",
                at_key=True,
            )
        if kind == "table" and not body.get("fields"):
            yield self.fail((), "a table widget needs fields: (its columns)", at_key=True)
        if kind == "kpi":
            if not body.get("date"):
                yield self.fail(
                    (),
                    "a kpi widget needs date: (the date field its period reads)",
                    "date: needed_by",
                    at_key=True,
                )
            if len(measures) != 1:
                yield self.fail(
                    ("measures",) if measures else (),
                    f"a kpi widget takes exactly one measure (it has {len(measures)})",
                    at_key=True,
                )
            if dims:
                yield self.fail(
                    ("dimensions",), "a kpi widget has no dimensions", "remove it", at_key=True
                )
            if body.get("compare") == "target" and not isinstance(body.get("target"), dict):
                yield self.fail(
                    ("compare",),
                    "compare: target needs a target",
                    "target: {source: form, measure: 'SUM(amount)', date: month}",
                )


__all__ = ["FILTER_FIELD_TYPES", "SYSTEM_COLUMNS", "check_dashboards", "resolve_path"]
