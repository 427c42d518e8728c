"""What each field type looks like on a form page, and reading a posted form back.

A widget is a small dict the template renders (``web/templates/_widget.html``): its
kind (``input``, ``textarea``, ``select``, ``checkbox``, ``computed``, ``subtable``,
``unsupported``), HTML input type, name, value, options, and the messages of the
server's checks for it. Values are kept as the person typed them: the service coerces
and validates (money as ``¥1,200.50`` or ``1200.5``, dates as ISO).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from web.auth import actor, service
from web.text import label, pick

#: HTML input types by field type (the rest are text)
INPUT_TYPES = {
    "date": "date",
    "datetime": "datetime-local",
    "email": "email",
    "number": "text",
    "money": "text",
    "percent": "text",
}
TEXTAREAS = ("textarea", "richtext")
COMPUTED = ("formula", "serial")
#: types this page does not edit yet (uploads come with the file widgets)
UNSUPPORTED = ("attachment", "image", "signature")
#: how many rows a new sub-table shows
NEW_ROWS = 2
MAX_ROWS = 200


def layout_of(form: Any) -> list[dict[str, Any]]:
    """Sections of the form page: the definition's layout, else one section of all."""
    if form.layout:
        return [
            {"title": label(s.title), "columns": s.columns, "fields": list(s.fields)}
            for s in form.layout
        ]
    return [{"title": "", "columns": 1, "fields": [f.key for f in form.fields]}]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, (date, Decimal)):
        return str(value)
    return str(value)


def _options(field: Any) -> list[tuple[str, str]]:
    items = field.option("options")
    if not isinstance(items, (list, tuple)):
        return []
    out = []
    for item in items:
        if isinstance(item, Mapping):
            out.append(
                (str(item.get("value")), label(_i18n(item.get("label") or item.get("value"))))
            )
        else:
            out.append((str(item), str(item)))
    return out


def _i18n(value: Any) -> Any:
    from engine.service import I18nText

    return I18nText.of(value) if isinstance(value, (str, Mapping)) else value


def widget_of(
    app_key: str,
    form: Any,
    field: Any,
    value: Any,
    errors: Mapping[str, list[str]],
    *,
    name: str | None = None,
    path: str | None = None,
    row: int | None = None,
) -> dict[str, Any]:
    """The widget of ``field`` holding ``value`` (``path``/``row`` inside a sub-table)."""
    key = path or field.key
    place = f"{key}#{row}" if row is not None else key
    widget: dict[str, Any] = {
        "key": field.key,
        "name": name or field.key,
        "label": label(field.label),
        "help": label(field.description),
        # a field the server fills in when left blank is not something to type
        "required": field.required and not field.default_expr and field.default is None,
        "placeholder": pick("留空则自动填写", "filled in when left blank")
        if field.default_expr
        else "",
        "errors": list(errors.get(place, [])),
        "value": _text(value),
        "type": "text",
    }
    kind = field.type
    if kind == "subtable":
        return _subtable(app_key, form, field, value, errors, widget)
    if kind in COMPUTED:
        widget["kind"] = "computed"
    elif kind in UNSUPPORTED:
        widget["kind"] = "unsupported"
    elif kind == "boolean":
        widget.update(kind="checkbox", checked=value in (True, "on", "true", "1"))
    elif kind in ("select", "multiselect"):
        chosen = value if isinstance(value, (list, tuple)) else [value] if value else []
        widget.update(
            kind="select",
            multiple=kind == "multiselect",
            options=_options(field),
            chosen=[str(v) for v in chosen],
        )
    elif kind == "relation":
        try:
            found = service().records.relation_candidates(actor(), app_key, form.key, key, limit=50)
        except Exception:  # noqa: BLE001 - a picker that cannot load leaves a text box
            found = []
        widget.update(
            kind="select",
            multiple=False,
            options=[(str(i), title or f"#{i}") for i, title in found],
            chosen=[_text(value)] if value else [],
        )
    elif kind in TEXTAREAS:
        widget["kind"] = "textarea"
    else:
        widget.update(kind="input", type=INPUT_TYPES.get(kind, "text"))
        if kind in ("number", "money", "percent"):
            widget["inputmode"] = "decimal"
    return widget


def _subtable(
    app_key: str,
    form: Any,
    field: Any,
    value: Any,
    errors: Mapping[str, list[str]],
    widget: dict[str, Any],
) -> dict[str, Any]:
    rows = (
        list(value)
        if isinstance(value, list) and value
        else [{}] * max(NEW_ROWS, int(field.option("min_rows", 1) or 1))
    )
    columns = [c for c in field.fields]
    widget.update(
        kind="subtable",
        columns=[
            {"key": c.key, "label": label(c.label), "computed": c.type in COMPUTED} for c in columns
        ],
        rows=[
            [
                widget_of(
                    app_key,
                    form,
                    column,
                    row.get(column.key),
                    errors,
                    name=f"{field.key}-{index}-{column.key}",
                    path=f"{field.key}.{column.key}",
                    row=index + 1,
                )
                for column in columns
            ]
            for index, row in enumerate(rows)
        ],
        row_errors=[errors.get(f"{field.key}#{index + 1}", []) for index in range(len(rows))],
    )
    return widget


def form_data(form: Any, posted: Any) -> dict[str, Any]:
    """Record data from a posted form: blanks left out, sub-table rows gathered, wholly
    blank rows dropped."""
    data: dict[str, Any] = {}
    for field in form.fields:
        if field.type in COMPUTED or field.type in UNSUPPORTED:
            continue
        if field.type == "subtable":
            data[field.key] = _rows(field, posted)
        elif field.type == "boolean":
            data[field.key] = posted.get(field.key) == "on"
        elif field.type == "multiselect":
            chosen = [v for v in posted.getlist(field.key) if v]
            if chosen:
                data[field.key] = chosen
        else:
            text = (posted.get(field.key) or "").strip()
            if text:
                data[field.key] = text
    return data


def _rows(field: Any, posted: Any) -> list[dict[str, Any]]:
    rows = []
    for index in range(MAX_ROWS):
        prefix = f"{field.key}-{index}-"
        if not any(name.startswith(prefix) for name in posted):
            continue
        row: dict[str, Any] = {}
        for column in field.fields:
            if column.type in COMPUTED or column.type in UNSUPPORTED:
                continue
            raw = posted.get(prefix + column.key)
            if column.type == "boolean":
                if raw == "on":
                    row[column.key] = True
            elif raw and raw.strip():
                row[column.key] = raw.strip()
        if row:
            rows.append(row)
    return rows
