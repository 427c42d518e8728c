"""Names people read in dashboards: field and bucket labels, dimension values (a
department's name, a supplier's title, a status word), measure formats, what a path
ends in, and the forms a widget's figures depend on (its cache marker)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from engine.definitions.dashboards import Dimension, Measure, Widget
from engine.definitions.model import FieldDefinition, FormDefinition
from engine.errors import ServiceError
from engine.fields import registry
from engine.runtime.reports.results import BLANK, STATUS_NAMES, ResultColumn, say
from engine.service.transactions import Transaction
from engine.store import reports as store

#: organisation field types: their values are codes, named by the organisation
ORG_KINDS = ("user", "department", "region", "dealer")


def condition_text(
    tx: Transaction,
    form_key: str,
    cond: store.Condition,
    locale: str,
    named: Callable[[str, Any], str] | None = None,
) -> str:
    """A drill condition as a chip people read: ``申请部门 = 渠道管理部``; ``named(path,
    value)`` names a value (a related record's title) when given."""
    label = path_label(tx, form_key, cond.path, locale)

    def name(value: Any) -> str:
        if named is not None and value is not None:
            return named(cond.path, value)
        return value_label(tx, form_key, Dimension(cond.path), value, None, locale)

    if cond.op == "bucket":
        return f"{label}: {cond.value}"
    if cond.op == "between":
        low, high = cond.value
        return f"{label}: {low or ''}..{high or ''}"
    if cond.op in ("in", "not_in"):
        names = ", ".join(name(v) for v in cond.value)
        return f"{label} {'∈' if cond.op == 'in' else '∉'} {names}"
    return f"{label} = {name(cond.value)}"


# -- labels -----------------------------------------------------------------------------
def path_label(tx: Transaction, form_key: str, path: str, locale: str) -> str:
    """The label of the field a path ends in (a system column's word; else the path)."""
    _form, field_def, system = path_field(tx, form_key, path)
    if field_def is not None and field_def.label is not None:
        return field_def.label.get(locale)
    names = {
        "status": ("状态", "Status"),
        "created_at": ("创建时间", "Created"),
        "updated_at": ("修改时间", "Updated"),
        "created_by": ("创建人", "Created by"),
        "id": ("编号", "ID"),
        "title": ("标题", "Title"),
    }
    return say(names[system], locale) if system in names else path


def dimension_label(tx: Transaction, form_key: str, dim: Dimension, locale: str) -> str:
    """A dimension's column label: its own, or its field's with the bucket (``需求日期（月）``)."""
    if dim.label is not None:
        return dim.label.get(locale)
    label = path_label(tx, form_key, dim.path, locale)
    if dim.bucket:
        buckets = {"day": ("日", "day"), "week": ("周", "week"), "month": ("月", "month")}
        buckets |= {"quarter": ("季度", "quarter"), "year": ("年", "year")}
        return (
            f"{label}（{say(buckets[dim.bucket], locale)}）"
            if not locale.startswith("en")
            else f"{label} ({dim.bucket})"
        )
    return label


def measure_column(tx: Transaction, form_key: str, measure: Measure, locale: str) -> ResultColumn:
    """A measure's column, its format inferred when not given (a sum of money is money,
    a count an integer, a formula a number)."""
    label = measure.label.get(locale) if measure.label else measure.key
    fmt = measure.format
    if fmt is None:
        fmt = "number"
        if measure.simple:
            aggregate = measure.aggregates[0]
            if aggregate.function in ("COUNT", "COUNT_DISTINCT"):
                fmt = "integer"
            else:
                _f, field_def, _s = path_field(tx, form_key, aggregate.path or "")
                if field_def is not None and numeric_type(field_def) == "money":
                    fmt = "money"
                elif field_def is not None and field_def.type in ("date", "datetime"):
                    fmt = field_def.type
    return ResultColumn(measure.key, label, "measure", fmt, measure.decimals)


def value_label(
    tx: Transaction,
    form_key: str,
    dim: Dimension,
    key: Any,
    title: str | None,
    locale: str,
) -> str:
    """A dimension value as people read it: a bucket label, a related title, a status
    word, an organisation name, an option label; blank as （空）."""
    if key is None:
        return say(BLANK, locale)
    if dim.bucket:
        return str(key)
    if title is not None:
        return title
    _form, field_def, system = path_field(tx, form_key, dim.path)
    if system == "status":
        return say(STATUS_NAMES[key], locale) if key in STATUS_NAMES else str(key)
    if field_def is None:
        return str(key)
    if field_def.type in ORG_KINDS:
        return tx.names(field_def.type, [key]).get(key, str(key))
    if field_def.type == "relation":
        return f"#{key}"
    try:
        return registry.get(field_def.type).display(field_def, key, locale) or str(key)
    except Exception:  # a value the type no longer knows (an option removed)
        return str(key)


def shown_rows(
    tx: Transaction,
    form_key: str,
    paths: Sequence[str],
    rows: list[dict[str, Any]],
    locale: str,
) -> list[dict[str, Any]]:
    """Detail rows with each value as people read it."""
    out = []
    for row in rows:
        values = []
        for path in paths:
            value = row.get(path)
            title = row.get(f"{path}@title")
            dim = Dimension(path)
            values.append(
                "" if value is None else value_label(tx, form_key, dim, value, title, locale)
            )
        out.append({"id": row["id"], "title": row["title"], "values": values})
    return out


def options(field_def: FieldDefinition) -> list[Any]:
    """A select field's declared options, as written."""
    found = field_def.option("options") or ()
    return list(found) if isinstance(found, list | tuple) else []


def numeric_type(field_def: FieldDefinition) -> str | None:
    """number, money or percent (a formula: its result type); None when not numeric."""
    if field_def.type == "formula":
        return str(field_def.option("result") or "number")
    return field_def.type if field_def.type in ("number", "money", "percent") else None


def path_field(
    tx: Transaction, form_key: str, path: str
) -> tuple[FormDefinition | None, FieldDefinition | None, str | None]:
    """What a path ends in: (its form, the field or None, the system column or None)."""
    try:
        form: FormDefinition = tx.form(form_key).stored.tables.form
    except ServiceError:
        return None, None, None
    fields = {f.key: f for f in form.fields}
    steps = path.split(".")
    for depth, head in enumerate(steps):
        last = depth == len(steps) - 1
        if last and head in store.SYSTEM_PATHS and head not in fields:
            return form, None, head
        found = fields.get(head)
        if found is None:
            return form, None, None
        if last:
            return form, found, None
        if found.type == "subtable":
            fields = {f.key: f for f in found.fields or ()}
            continue
        if found.type != "relation":
            return form, None, None
        try:
            form = tx.form(found.option("to")).stored.tables.form
        except ServiceError:
            return None, None, None
        fields = {f.key: f for f in form.fields}
    return form, None, None


def forms_read(tx: Transaction, widget: Widget) -> set[str]:
    """The forms a widget's figures depend on: its source, forms its paths pass through,
    and a KPI target's source."""
    forms = {widget.source}
    paths = [d.path for d in (*widget.dimensions, *widget.columns)]
    paths += [a.path for m in widget.measures for a in m.aggregates if a.path]
    paths += list(widget.fields)
    for path in paths:
        # every relation the path passes through or ends in (its title is a label)
        steps = path.split(".")
        for depth in range(1, len(steps) + 1):
            _form, field_def, _system = path_field(tx, widget.source, ".".join(steps[:depth]))
            if field_def is not None and field_def.type == "relation":
                forms.add(field_def.option("to"))
    if widget.target is not None:
        forms.add(widget.target.source)
    return forms
