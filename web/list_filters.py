"""The state of a list page (search, filters, sort, columns, page size) read from the
query string, and its filters as the service's filter structure.

The state lives in the URL so a list can be shared and the back button works; a saved
view keeps the same state (``settings``). Filter parameters are ``f.KEY`` (text,
options, yes/no, people, relation, status) and ``f.KEY.from`` / ``f.KEY.to`` (ranges),
plus ``where`` in the REST API's text form (``total>=100``, read by
``engine.service.filter_text``). Each becomes ``(field, op, value)`` with the value as
typed: the service coerces and checks it against the field (the one filter language of
the CLI, the REST API and this page), and a refusal is shown next to its filter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from engine.service.filter_text import FILTER_SYNTAX, read_filter
from web.text import _, label, status

#: page sizes people may choose
PAGE_SIZES = (20, 50, 100)
DEFAULT_PAGE_SIZE = 20
#: system columns a list may show besides the form's fields
SYSTEM_COLUMNS = ("status", "created_at", "created_by", "updated_at")
#: field types a list never shows as a column (their values do not fit a cell)
NOT_COLUMNS = ("subtable", "signature", "richtext")
#: field types whose values have no order (stored as JSON or several columns)
UNSORTABLE = ("subtable", "multiselect", "attachment", "image", "signature", "address")
#: field types filtered by "contains"
TEXT_TYPES = ("text", "textarea", "richtext", "email", "phone", "uscc", "serial")
#: field types filtered by a from-to range, with the input type of their bounds
RANGE_TYPES = {
    "number": "text",
    "money": "text",
    "percent": "text",
    "date": "date",
    "datetime": "datetime-local",
}
#: organisation field types, filtered by picking names
PEOPLE_TYPES = ("user", "department", "region", "dealer")
#: record statuses (flows set them), in the order a person reads them
RECORD_STATUSES = (
    "active",
    "draft",
    "in_approval",
    "sent_back",
    "approved",
    "rejected",
    "withdrawn",
    "terminated",
)
MAX_PARAM_VALUES = 50
#: most filter parameters one list takes (what a saved view keeps)
MAX_PARAMS = 50
MAX_WHERE = 20
MAX_TEXT = 200


@dataclass
class ListState:
    """What a list shows: search, filter parameters, sort, columns, page size, page."""

    search: str | None = None
    filters: dict[str, list[str]] = field(default_factory=dict)
    sort: str | None = None
    columns: list[str] = field(default_factory=list)
    page_size: int = DEFAULT_PAGE_SIZE
    page: int = 1

    def pairs(self, **changes: Any) -> list[tuple[str, str]]:
        """The state as query-string pairs (``changes`` override sort, page...)."""
        search = changes.get("search", self.search)
        sort = changes.get("sort", self.sort)
        page = changes.get("page", self.page)
        out: list[tuple[str, str]] = []
        if search:
            out.append(("q", search))
        for key, values in self.filters.items():
            out.extend((key, v) for v in values)
        if sort:
            out.append(("sort", sort))
        out.extend(("col", c) for c in changes.get("columns", self.columns))
        if self.page_size != DEFAULT_PAGE_SIZE:
            out.append(("size", str(self.page_size)))
        if page and page != 1:
            out.append(("page", str(page)))
        view = changes.get("view")
        if view:
            out.append(("view", str(view)))
        return out

    def query(self, **changes: Any) -> str:
        """The state as a query string (``changes`` as in :meth:`pairs`)."""
        return urlencode(self.pairs(**changes))

    def settings(self) -> dict[str, Any]:
        """The state as a saved view keeps it (the page number is not kept)."""
        return {
            "filters": {k: list(v) for k, v in self.filters.items()},
            "search": self.search,
            "sort": self.sort,
            "columns": list(self.columns),
            "page_size": self.page_size,
        }


def _text(value: Any) -> str:
    return value.strip()[:MAX_TEXT] if isinstance(value, str) else ""


def state_from_args(args: Any) -> ListState:
    """The state of a request's query string (a MultiDict); nothing here is trusted:
    unknown parameters are dropped, and values are judged when the list is built."""
    state = ListState(search=_text(args.get("q")) or None, sort=_text(args.get("sort")) or None)
    for key in args:
        if key.startswith("f.") or key == "where":
            values = [_text(v) for v in args.getlist(key)][:MAX_PARAM_VALUES]
            values = [v for v in values if v]
            if values and len(state.filters) < MAX_PARAMS:
                state.filters[key[:MAX_TEXT]] = values
    columns = [_text(c) for c in args.getlist("col")]
    columns += [c.strip() for given in args.getlist("cols") for c in given.split(",")]
    state.columns = [c for c in dict.fromkeys(columns) if c][:100]
    size = args.get("size", "")
    state.page_size = int(size) if size.isdigit() and int(size) in PAGE_SIZES else DEFAULT_PAGE_SIZE
    page = args.get("page", "1")
    state.page = int(page) if page.isdigit() and 0 < int(page) <= 100_000 else 1
    return state


def state_from_settings(settings: Mapping[str, Any]) -> ListState:
    """The state a saved view keeps."""
    size = settings.get("page_size")
    return ListState(
        search=settings.get("search") or None,
        filters={k: list(v) for k, v in (settings.get("filters") or {}).items()},
        sort=settings.get("sort") or None,
        columns=list(settings.get("columns") or []),
        page_size=size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE,
    )


# -- columns -----------------------------------------------------------------------------------
def offered_columns(form: Any, visible: tuple[str, ...]) -> list[str]:
    """The columns the actor may choose: the fields they see, then the system columns."""
    fields = [
        key for key in visible if form.has_field(key) and form.field(key).type not in NOT_COLUMNS
    ]
    return fields + list(SYSTEM_COLUMNS)


def default_columns(form: Any, offered: list[str]) -> list[str]:
    """The form's ``list.columns`` the actor may see; else its first fields and status."""
    declared = [c for c in (form.list_columns or ()) if c in offered]
    if declared:
        return declared
    fields = [c for c in offered if c not in SYSTEM_COLUMNS][:6]
    return [*fields, "status"]


def column_label(form: Any, key: str) -> str:
    """The heading of a column."""
    if form.has_field(key):
        return label(form.field(key).label) or key
    return {
        "status": _("Status"),
        "created_at": _("Created"),
        "created_by": _("Created by"),
        "updated_at": _("Updated"),
    }.get(key, key)


def sortable(form: Any, key: str) -> bool:
    """Whether a column's header sorts the list."""
    if key in SYSTEM_COLUMNS:
        return True
    return form.has_field(key) and form.field(key).type not in UNSORTABLE


def numeric(form: Any, key: str) -> bool:
    """Whether a column holds numbers (shown aligned to the right)."""
    if not form.has_field(key):
        return False
    field_def = form.field(key)
    kind = field_def.option("result") if field_def.type == "formula" else field_def.type
    return kind in ("number", "money", "percent")


# -- filters -----------------------------------------------------------------------------------
@dataclass
class ListFilter:
    """One filter of the filter bar: which control, its current values, its message."""

    key: str
    label: str
    #: text, range, options, yesno, people, relation
    kind: str
    input_type: str = "text"
    options: list[tuple[str, str]] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    low: str = ""
    high: str = ""
    error: str = ""
    #: the organisation kind of a people filter (user, department, region, dealer)
    org_kind: str = ""


def _filter_kind(field_def: Any) -> tuple[str, str] | None:
    """(kind, input type) of a field's filter; None when it has none."""
    kind = field_def.type
    if kind == "formula":
        kind = field_def.option("result") or "number"
    if kind in TEXT_TYPES:
        return "text", "text"
    if kind in RANGE_TYPES:
        return "range", RANGE_TYPES[kind]
    if kind == "select" and isinstance(field_def.option("options"), (list, tuple)):
        return "options", ""
    if kind == "boolean":
        return "yesno", ""
    if kind == "relation" and not field_def.option("many"):
        return "relation", "text"
    if kind in PEOPLE_TYPES and not field_def.option("many"):
        return "people", ""
    return None


def option_labels(field_def: Any) -> list[tuple[str, str]]:
    """(value, label) of a select's options."""
    from engine.service import I18nText

    out = []
    for item in field_def.option("options") or ():
        if isinstance(item, Mapping) or hasattr(item, "get"):
            text = item.get("label") or item.get("value")
            shown = I18nText.of(text) if isinstance(text, (str, Mapping)) else text
            out.append((str(item.get("value")), label(shown)))
        else:
            out.append((str(item), str(item)))
    return out


def filters_of(form: Any, visible: tuple[str, ...], state: ListState) -> list[ListFilter]:
    """The filter bar: one filter per visible field that has one, then the status."""
    out: list[ListFilter] = []
    for key in visible:
        if not form.has_field(key):
            continue
        field_def = form.field(key)
        found = _filter_kind(field_def)
        if found is None:
            continue
        kind, input_type = found
        item = ListFilter(key, label(field_def.label) or key, kind, input_type)
        item.values = state.filters.get(f"f.{key}", [])
        item.low = (state.filters.get(f"f.{key}.from") or [""])[0]
        item.high = (state.filters.get(f"f.{key}.to") or [""])[0]
        if kind == "options":
            item.options = option_labels(field_def)
        elif kind == "yesno":
            item.options = [("yes", _("yes")), ("no", _("no"))]
        elif kind == "people":
            item.org_kind = field_def.type
        out.append(item)
    if "status" in state.columns or state.filters.get("f.status"):
        item = ListFilter("status", _("Status"), "options")
        item.options = [(s, status(s)) for s in RECORD_STATUSES]
        item.values = state.filters.get("f.status", [])
        out.append(item)
    return out


@dataclass
class FilterProblem:
    """A filter parameter that cannot be read at all (before the service sees it)."""

    param: str
    message: str


def service_filters(
    filters: list[ListFilter], state: ListState
) -> tuple[list[tuple[str, tuple[str, str, Any]]], list[FilterProblem]]:
    """The state's filters as ``(parameter, (field, op, value))`` for the service, and
    the parameters that could not be read (a ``where`` that is not FIELD OP VALUE)."""
    out: list[tuple[str, tuple[str, str, Any]]] = []
    problems: list[FilterProblem] = []
    for item in filters:
        key = item.key
        if item.kind == "text" and item.values:
            out.append((f"f.{key}", (key, "contains", item.values[0])))
        elif item.kind == "relation" and item.values:
            # picked by name: the related record's title contains what was typed
            out.append((f"f.{key}", (f"{key}.title", "contains", item.values[0])))
        elif item.kind == "range":
            if item.low:
                out.append((f"f.{key}.from", (key, "ge", item.low)))
            if item.high:
                out.append((f"f.{key}.to", (key, "le", item.high)))
        elif item.kind in ("options", "people") and item.values:
            out.append((f"f.{key}", (key, "in", list(item.values))))
        elif item.kind == "yesno" and item.values and item.values[0] in ("yes", "no"):
            out.append((f"f.{key}", (key, "eq", item.values[0] == "yes")))
    for index, text in enumerate(state.filters.get("where", [])[:MAX_WHERE]):
        found = read_filter(text)
        if found is None:
            problems.append(
                FilterProblem(
                    "where",
                    _(
                        "cannot read the filter %(text)s: write FIELD OPERATOR VALUE, e.g. "
                        "total>=100 (operators: %(operators)s)",
                        text=text,
                        operators=FILTER_SYNTAX,
                    ),
                )
            )
        else:
            out.append((f"where#{index}", found))
    return out, problems
