"""Dashboards (docs/reports.md): the menu of the dashboards one may open, a dashboard's
page with its filters and widgets, the records behind a point, and xlsx exports.

- ``/dashboards/``: every installed app's dashboards the signed-in person may open (the
  same list as the navigation bar's menu);
- ``/dashboards/<app>/<key>?<filters>``: the filters as a GET form, the widgets in a
  12-column grid (KPI cards, charts drawn by static/js/dashboard.js with the vendored
  ECharts, pivot tables, detail tables); ``page`` pages the detail tables;
- ``/dashboards/<app>/<key>/drill?widget=W&point=<json>&<filters>``: the records behind
  one chart point or pivot cell, each linking to its record page;
- ``/dashboards/<app>/<key>/export.xlsx?[widget=W&]<filters>``: one widget's data or the
  whole dashboard as an xlsx attachment.

Filter parameters carry the dashboard filter's key: ``department=channel``; a date range
is ``period=<preset>`` or ``period=custom&period.from=2026-01-01&period.to=2026-03-31``
(``period=`` alone: no restriction; no ``period`` at all: the filter's default). The
service computes and refuses; a refused filter value is shown next to its filter and the
dashboard is drawn without it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from io import BytesIO
from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, abort, g, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from engine.service import (
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ServiceError,
)
from web.auth import actor, service
from web.i18n import N_
from web.text import _, label

blueprint = Blueprint("dashboards", __name__, url_prefix="/dashboards")

#: the presets a date range filter offers, with their words (engine DATE_PRESETS)
DATE_PRESETS = {
    "today": N_("Today"),
    "this_week": N_("This week"),
    "this_month": N_("This month"),
    "last_month": N_("Last month"),
    "this_quarter": N_("This quarter"),
    "last_quarter": N_("Last quarter"),
    "this_year": N_("This year"),
    "last_year": N_("Last year"),
    "last_7_days": N_("Last 7 days"),
    "last_30_days": N_("Last 30 days"),
    "last_90_days": N_("Last 90 days"),
    "last_12_months": N_("Last 12 months"),
}
#: the date range select's value that means "the two dates below"
CUSTOM = "custom"
#: organisation filters, offered as the organisation's choices for the actor
ORG_FILTERS = ("user", "department", "region", "dealer")
#: most choices an organisation filter's select offers
ORG_CHOICES = 200
#: records per page of the drill page
DRILL_PAGE_SIZE = 20
#: points listed as "records" links under a chart whose clicks filter the dashboard
DRILL_LINKS = 12


# -- the menu ---------------------------------------------------------------------------
def dashboards_of(me: Any) -> list[Any]:
    """The dashboards of every installed app ``me`` may open (DashboardInfo), app by app;
    an app that refuses is left out (the menu never fails a page)."""
    found: list[Any] = []
    try:
        apps = service().list_apps(me)
    except ServiceError:
        return found
    for app in apps:
        try:
            found.extend(service().reports.dashboards(me, app.key))
        except ServiceError:
            continue
    return found


@blueprint.app_context_processor
def dashboard_menu() -> dict[str, Any]:
    """``dashboard_menu()`` for the navigation bar: asked only when a page shows the bar
    to a signed-in person, once per request."""

    def menu() -> list[Any]:
        if not current_user.is_authenticated:
            return []
        if "dashboard_menu" not in g:
            g.dashboard_menu = dashboards_of(actor())
        return g.dashboard_menu

    return {"dashboard_menu": menu}


@blueprint.route("/")
@login_required
def index() -> Any:
    """The dashboards one may open, by app."""
    return render_template("dashboards.html", found=dashboards_of(actor()))


# -- filters ----------------------------------------------------------------------------
def filter_names(definition: Any) -> list[str]:
    """The query parameters that carry the dashboard's filters (kept across links)."""
    names: list[str] = []
    for flt in definition.filters:
        names.append(flt.key)
        if flt.type == "date_range":
            names += [f"{flt.key}.from", f"{flt.key}.to"]
    return names


def read_filters(definition: Any, args: MultiDict[str, str]) -> dict[str, Any]:
    """The service's ``filters`` from the query string: only the filters the request
    names (a missing one takes its default; an empty one is no restriction)."""
    chosen: dict[str, Any] = {}
    for flt in definition.filters:
        key = flt.key
        if flt.type == "date_range":
            first = (args.get(f"{key}.from") or "").strip()[:10]
            last = (args.get(f"{key}.to") or "").strip()[:10]
            preset = args.get(key)
            if preset == CUSTOM or (preset is None and (first or last)):
                chosen[key] = f"{first}..{last}" if first or last else ""
            elif preset is not None:
                chosen[key] = preset.strip()[:40]
            continue
        if key in args:
            values = [v.strip()[:200] for v in args.getlist(key)[:20] if v.strip()]
            chosen[key] = values[0] if len(values) == 1 else values
    return chosen


def carried(definition: Any, args: MultiDict[str, str]) -> list[tuple[str, str]]:
    """The filter parameters of this request, to carry into links (drill, export,
    pages)."""
    names = filter_names(definition)
    return [(k, v) for k in names for v in args.getlist(k)[:20]]


def _filter_controls(
    definition: Any, applied: Mapping[str, Any], args: MultiDict[str, str], errors: dict[str, str]
) -> list[dict[str, Any]]:
    """What the filter form shows for each filter: its kind, words, current value and
    choices."""
    app_key, key = g.dashboard_app, definition.key
    choices: dict[str, list[tuple[Any, str]]] = {}
    if any(f.type in ("select", "relation") or f.options for f in definition.filters):
        try:
            choices = service().reports.filter_choices(actor(), app_key, key)
        except ServiceError:
            choices = {}
    controls = []
    for flt in definition.filters:
        item: dict[str, Any] = {
            "key": flt.key,
            "type": flt.type,
            "label": label(flt.label) or flt.key,
            "error": errors.get(flt.key, ""),
        }
        if flt.type == "date_range":
            shown = str(applied.get(flt.key) or "")
            first, _sep, last = shown.partition("..")
            typed = {"first": args.get(f"{flt.key}.from"), "last": args.get(f"{flt.key}.to")}
            preset = args.get(flt.key)
            if preset is None and (typed["first"] or typed["last"]):
                preset = CUSTOM
            elif preset is None:  # the filter's default
                preset = flt.default if flt.default in DATE_PRESETS else (CUSTOM if shown else "")
            item.update(
                preset=preset,
                first=(typed["first"] if flt.key in errors else first) or "",
                last=(typed["last"] if flt.key in errors else last) or "",
                presets=[(k, _(v)) for k, v in DATE_PRESETS.items()],
            )
        else:
            current = args.getlist(flt.key) if flt.key in args else _as_list(flt.default)
            item["value"] = str(current[0]) if current else ""
            if flt.key in choices:
                item["choices"] = [(str(v), text) for v, text in choices[flt.key]]
            elif flt.type in ORG_FILTERS:
                item["choices"] = _org_choices(flt.type, item["value"])
        controls.append(item)
    return controls


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _org_choices(kind: str, current: str) -> list[tuple[str, str]] | None:
    """The organisation's choices for the actor (None: a text box instead)."""
    try:
        found = service().org_choices.choices(actor(), kind, limit=ORG_CHOICES)
    except ServiceError:
        return None
    options = [(str(code), str(name)) for code, name in found.items]
    if current and current not in {code for code, _name in options}:
        options.append((current, current))
    return options


# -- figures ----------------------------------------------------------------------------
def figure(value: Any, column: Mapping[str, Any] | None) -> str:
    """A measure's value as the page shows it: money ``¥1,234.50``, integers grouped,
    percents from fractions (0.25 -> 25.0%); blank as a dash."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    kind = (column or {}).get("format")
    decimals = (column or {}).get("decimals")
    if kind == "money":
        places = 2 if decimals is None else decimals
        text = f"{abs(number):,.{places}f}"
        return f"-¥{text}" if number < 0 else f"¥{text}"
    if kind == "integer":
        return f"{number:,.0f}"
    if kind == "percent":
        return f"{number * 100:,.{1 if decimals is None else decimals}f}%"
    if decimals is not None:
        return f"{number:,.{decimals}f}"
    return f"{number:,}"


def change_text(change: Any) -> str:
    """A KPI's change as a signed percent: 0.25 -> ``+25.0%``."""
    number = Decimal(str(change))
    return f"{'+' if number > 0 else ''}{number * 100:,.1f}%"


@blueprint.context_processor
def dashboard_words() -> dict[str, Any]:
    """What the dashboard templates format with."""
    return {
        "figure": figure,
        "change_text": change_text,
        "point_url": point_url,
        "compare_words": {
            "previous_period": _("vs previous period"),
            "last_year": _("vs same period last year"),
            "target": _("vs target"),
        },
    }


# -- pages ------------------------------------------------------------------------------
def _definition(app_key: str, dashboard_key: str) -> Any:
    """The dashboard's definition, or 404 (unknown, or not the actor's to open: like a
    record one may not read, it reads as not found)."""
    try:
        definition = service().reports.definition(actor(), app_key, dashboard_key)
    except (NotFoundError, PermissionDeniedError):
        abort(404)
    except InvalidArgumentError:
        abort(404)
    g.dashboard_app = app_key
    return definition


def _filter_key(error: InvalidArgumentError, definition: Any) -> str | None:
    """The filter a refusal is about (``filters.period`` -> ``period``), if any."""
    argument = getattr(error, "argument", "") or ""
    name = argument.removeprefix("filters.").split(".")[0].split("[")[0]
    if name in {f.key for f in definition.filters}:
        return name
    given = getattr(error, "given", "") or ""
    found = [f.key for f in definition.filters if f.key in given.split(", ")]
    return found[0] if found else None


def _unreadable_records(definition: Any, filters: dict[str, Any]) -> dict[str, str]:
    """Relation filters whose value is no record number (only a hand-written address
    has one: the form offers records); the service would refuse every widget."""
    errors: dict[str, str] = {}
    for flt in definition.filters:
        values = filters.get(flt.key)
        if flt.type != "relation" or values in (None, ""):
            continue
        if any(not str(v).isdigit() for v in _as_list(values)):
            errors[flt.key] = _("Pick a record from the list.")
            filters[flt.key] = ""
    return errors


def _run_filtered(call: Any, definition: Any, filters: dict[str, Any]) -> tuple[Any, dict]:
    """``call(filters)`` again without each filter the service refuses, so one bad value
    leaves the rest of the page working; the refusals by filter key."""
    filters = dict(filters)
    errors = _unreadable_records(definition, filters)
    for _attempt in range(len(definition.filters) + 1):
        try:
            return call(filters), errors
        except InvalidArgumentError as refused:
            key = _filter_key(refused, definition)
            if key is None or key in errors:
                raise
            errors[key] = str(refused)
            # blank: no restriction, as the person's value cannot be read
            filters = {**filters, key: ""}
    return call(filters), errors


def _page_number() -> int:
    page = request.args.get("page", "1")
    return int(page) if page.isdigit() and 0 < int(page) <= 100_000 else 1


@blueprint.route("/<app_key>/<dashboard_key>")
@login_required
def show(app_key: str, dashboard_key: str) -> Any:
    """The dashboard: filters, widgets, export links."""
    definition = _definition(app_key, dashboard_key)
    filters = read_filters(definition, request.args)
    page = _page_number()

    def run(chosen: dict[str, Any]) -> Any:
        return service().reports.run(actor(), app_key, dashboard_key, filters=chosen, page=page)

    try:
        result, errors = _run_filtered(run, definition, filters)
    except NotFoundError:
        abort(404)
    except ServiceError as refused:
        page = render_template("dashboard_error.html", definition=definition, error=str(refused))
        return page, 400
    query = carried(definition, request.args)
    widgets = [_widget_view(definition, w.to_json(), app_key, query) for w in result.widgets]
    return render_template(
        "dashboard.html",
        app_key=app_key,
        definition=definition,
        result=result,
        widgets=widgets,
        controls=_filter_controls(definition, result.filters, request.args, errors),
        query=query,
        query_text=urlencode(query),
        export_url=_url("dashboards.export", app_key, dashboard_key, query),
        page=page,
    )


def _url(endpoint: str, app_key: str, dashboard_key: str, query: list[tuple[str, str]]) -> str:
    base = url_for(endpoint, app_key=app_key, dashboard_key=dashboard_key)
    return f"{base}?{urlencode(query)}" if query else base


def _widget_view(
    definition: Any, data: dict[str, Any], app_key: str, query: list[tuple[str, str]]
) -> dict[str, Any]:
    """One widget's result with what its card needs: formatted figures, links."""
    widget = definition.widget(data["key"])
    measures = {c["key"]: c for c in data["columns"] if c["role"] == "measure"}
    drill_base = _url(
        "dashboards.drill", app_key, definition.key, [("widget", data["key"]), *query]
    )
    interaction = next((i for i in definition.interactions if i.source == data["key"]), None)
    view: dict[str, Any] = {
        "data": data,
        "measures": list(measures.values()),
        "dimensions": [c for c in data["columns"] if c["role"] == "dimension"],
        "drill_base": drill_base,
        "export_url": _url(
            "dashboards.export", app_key, definition.key, [("widget", data["key"]), *query]
        ),
        "sets": interaction.sets if interaction else "",
        "dimension": widget.dimensions[0].key if widget and widget.dimensions else "",
        "column_keys": [d.key for d in widget.columns] if widget else [],
    }
    if interaction:
        view["links"] = [
            (", ".join(str(x) for x in row["labels"]), point_url(drill_base, row["drill"]))
            for row in data["rows"][:DRILL_LINKS]
            if row.get("drill") is not None
        ]
    return view


def point_url(drill_base: str, point: Any) -> str:
    """The drill page of one point: the widget's drill link plus the point as JSON."""
    text = json.dumps(point, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"{drill_base}&{urlencode({'point': text})}"


@blueprint.route("/<app_key>/<dashboard_key>/drill")
@login_required
def drill(app_key: str, dashboard_key: str) -> Any:
    """The records behind one point of a widget, a page at a time."""
    definition = _definition(app_key, dashboard_key)
    widget_key = (request.args.get("widget") or "")[:60]
    widget = definition.widget(widget_key)
    if widget is None:
        abort(404)
    point_text = (request.args.get("point") or "{}")[:2000]
    try:
        point = json.loads(point_text)
    except ValueError:
        point = None
    query = carried(definition, request.args)
    back = _url("dashboards.show", app_key, dashboard_key, query)
    if not isinstance(point, dict):
        error = _(
            "The point %(point)s is not readable: open it again from the dashboard.",
            point=point_text,
        )
        return render_template(
            "dashboard_drill.html",
            definition=definition,
            widget=widget,
            found=None,
            error=error,
            back=back,
            app_key=app_key,
        ), 400
    filters = read_filters(definition, request.args)
    page = _page_number()

    def run(chosen: dict[str, Any]) -> Any:
        return service().reports.drill(
            actor(),
            app_key,
            dashboard_key,
            widget_key,
            point,
            filters=chosen,
            page=page,
            page_size=DRILL_PAGE_SIZE,
        )

    try:
        found, errors = _run_filtered(run, definition, filters)
    except NotFoundError:
        abort(404)
    except ServiceError as refused:
        return render_template(
            "dashboard_drill.html",
            definition=definition,
            widget=widget,
            found=None,
            error=str(refused),
            back=back,
            app_key=app_key,
        ), 400
    here = [("widget", widget_key), ("point", point_text), *query]
    list_where = getattr(found, "list_where", None)
    list_url = None
    if list_where is not None:  # the same records on the form's list page
        base = url_for("forms.listing", app_key=app_key, form_key=found.form)
        list_url = f"{base}?{urlencode([('where', w) for w in list_where])}"
    pages = max(1, -(-found.total // found.page_size))
    return render_template(
        "dashboard_drill.html",
        definition=definition,
        widget=widget,
        found=found,
        errors=errors,
        error="",
        back=back,
        list_url=list_url,
        app_key=app_key,
        pages=pages,
        page_url=lambda number: _url(
            "dashboards.drill", app_key, dashboard_key, [*here, ("page", str(number))]
        ),
    )


@blueprint.route("/<app_key>/<dashboard_key>/export.xlsx")
@login_required
def export(app_key: str, dashboard_key: str) -> Any:
    """One widget's data (``widget=W``) or the whole dashboard as an xlsx attachment."""
    definition = _definition(app_key, dashboard_key)
    widget_key = request.args.get("widget")
    if widget_key is not None and definition.widget(widget_key[:60]) is None:
        abort(404)
    filters = read_filters(definition, request.args)
    out = BytesIO()
    # no retry without a refused filter here: a file must hold what was asked, or nothing
    try:
        service().reports.export_xlsx(
            actor(),
            app_key,
            dashboard_key,
            out,
            widgets=[widget_key[:60]] if widget_key else None,
            filters=filters,
        )
    except NotFoundError:
        abort(404)
    except ServiceError as refused:
        page = render_template("dashboard_error.html", definition=definition, error=str(refused))
        return page, 400
    out.seek(0)
    name = label(definition.name) or definition.key
    if widget_key:
        widget = definition.widget(widget_key[:60])
        name = f"{name}-{label(widget.title) or widget.key}"
    answer = send_file(
        out,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"{definition.key}.xlsx",
    )
    # the dashboard's own name for browsers (RFC 5987), its key for the rest
    answer.headers["Content-Disposition"] = (
        f'attachment; filename="{definition.key}.xlsx"; '
        f"filename*=UTF-8''{quote(name + '.xlsx', safe='')}"
    )
    return answer
