"""List pages: a form's records with search, per-type filters, sort, a column chooser,
pages with the total, saved views per person, bulk delete and CSV export.

Every row comes from the service (``query_records`` / ``records.export``: the store's
scoped record source applies the actor's rows and hidden fields); this module reads the
page's query string into the service's filter structure (web/list_filters.py) and shows
the answer: related records by their titles, people and organisation codes by their
names, options by their labels. A filter the service refuses shows its message next to
the filter. Routes are registered on the forms blueprint (``forms.listing``...).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from engine.service import NotFoundError, QueryError, ServiceError
from engine.service.exports import DIRECT_LIMIT, mime_of
from web.auth import actor, service
from web.list_filters import (
    PAGE_SIZES,
    ListFilter,
    ListState,
    column_label,
    default_columns,
    filters_of,
    numeric,
    offered_columns,
    service_filters,
    sortable,
    state_from_args,
    state_from_settings,
)
from web.security import local_path
from web.text import _, display, shown, status, when

#: most records one bulk action takes
MAX_BULK = 500
#: records per page of the CSV export (each page its own read)
EXPORT_BATCH = 500


def register_list_routes(blueprint: Blueprint) -> None:
    """Add the list routes to ``blueprint`` (the forms blueprint: ``forms.listing``)."""
    rules = (
        ("/l/<app_key>/<form_key>", "listing", listing, ["GET"]),
        ("/l/<app_key>/<form_key>/delete", "list_delete", bulk_delete, ["POST"]),
        ("/l/<app_key>/<form_key>/export.csv", "list_export", export_csv, ["GET", "POST"]),
        ("/l/<app_key>/<form_key>/export.xlsx", "list_export_xlsx", export_xlsx, ["GET", "POST"]),
        ("/exports/<int:run_id>", "export_run", export_run, ["GET"]),
        ("/exports/<int:run_id>/download", "export_download", export_download, ["GET"]),
        ("/l/<app_key>/<form_key>/views", "list_view_new", save_view, ["POST"]),
        ("/l/<app_key>/<form_key>/views/<int:view_id>", "list_view", change_view, ["POST"]),
    )
    for rule, endpoint, view, methods in rules:
        blueprint.add_url_rule(rule, endpoint, login_required(view), methods=methods)


# -- the page ---------------------------------------------------------------------------------
def _setup(app_key: str, form_key: str) -> tuple[Any, Any]:
    """(definition, list setup) of a form the actor may read; 404 otherwise."""
    try:
        form = service().get_form(actor(), app_key, form_key)
        setup = service().saved_views.setup(actor(), app_key, form_key)
    except ServiceError:
        # no such form, or no read grant: the list reads as not found
        abort(404)
    return form, setup


def _state(app_key: str, form_key: str) -> tuple[ListState, Any]:
    """The list's state and the saved view it shows (``?view=ID``; with no parameters at
    all, the person's default view)."""
    args = request.args
    view = None
    wanted = args.get("view", "")
    try:
        if wanted.isdigit() and 0 < int(wanted) < 2**63:
            view = service().saved_views.get(actor(), int(wanted))
        elif not args:
            view = service().saved_views.default(actor(), app_key, form_key)
    except NotFoundError:
        flash(_("No such view"), "warning")
    except ServiceError as refused:
        flash(str(refused), "danger")
    if view is not None and (view.app, view.form) != (app_key, form_key):
        view = None
    if view is not None and set(args) <= {"view", "page"}:
        state = state_from_settings(view.settings)
        page = args.get("page", "1")
        state.page = int(page) if page.isdigit() and 0 < int(page) <= 100_000 else 1
    else:
        state = state_from_args(args)
    return state, view


def _columns(form: Any, setup: Any, state: ListState) -> list[str]:
    offered = offered_columns(form, setup.fields)
    chosen = [c for c in state.columns if c in offered]
    return chosen or default_columns(form, offered)


def _query(
    app_key: str, form_key: str, filters: list[ListFilter], state: ListState
) -> tuple[Any, list[str]]:
    """The page of records, or None with the messages of what the service refused
    (each filter's own next to it)."""
    pairs, problems = service_filters(filters, state)
    by_param = {f"f.{f.key}": f for f in filters}
    by_param.update({f"f.{f.key}.from": f for f in filters})
    by_param.update({f"f.{f.key}.to": f for f in filters})
    messages: list[str] = [p.message for p in problems]
    if problems:
        return None, messages
    try:
        found = service().query_records(
            actor(),
            app_key,
            form_key,
            filters=[flt for _param, flt in pairs],
            search=state.search,
            sort=state.sort,
            page=state.page,
            page_size=state.page_size,
        )
    except QueryError as refused:
        refusals = _locate(app_key, form_key, pairs, by_param)
        messages.extend(refusals if refusals is not None else [str(refused)])
        return None, messages
    except ServiceError as refused:
        return None, [str(refused)]
    return found, messages


def _locate(
    app_key: str,
    form_key: str,
    pairs: list[tuple[str, tuple[str, str, Any]]],
    by_param: dict[str, ListFilter],
) -> list[str] | None:
    """Put the service's message on each filter it refuses alone; the messages of the
    refused ``where`` filters (which have no control to stand next to); None when no
    filter is refused alone (the search or the sort was)."""
    refused_any = False
    loose: list[str] = []
    for param, flt in pairs:
        try:
            service().query_records(
                actor(), app_key, form_key, filters=[flt], page_size=1, with_total=False
            )
        except ServiceError as refused:
            refused_any = True
            item = by_param.get(param)
            if item is not None:
                item.error = str(refused)
            else:
                loose.append(str(refused))
    return loose if refused_any else None


def listing(app_key: str, form_key: str) -> Any:
    """A page of a form's records as the list's state says."""
    form, setup = _setup(app_key, form_key)
    state, view = _state(app_key, form_key)
    columns = _columns(form, setup, state)
    state.columns = [c for c in state.columns if c in columns]
    filters = filters_of(form, setup.fields, replace(state, columns=columns))
    found, messages = _query(app_key, form_key, filters, state)
    located = [f for f in filters if f.error]
    if located:
        flash(_("Please correct the marked filters"), "danger")
    for text in messages:
        flash(text, "danger")
    cells = _cells(app_key, form, columns, found.items) if found is not None else []
    _fill_choices(app_key, form_key, filters, found.items if found is not None else [])
    try:
        views = service().saved_views.list(actor(), app_key, form_key)
    except ServiceError:
        views = []
    offered = offered_columns(form, setup.fields)
    return render_template(
        "list.html",
        form=form,
        app_key=app_key,
        setup=setup,
        state=state,
        view=view,
        views=views,
        columns=columns,
        headings={c: column_label(form, c) for c in offered},
        chooser=columns + [c for c in offered if c not in columns],
        sortable={c: sortable(form, c) for c in columns},
        numeric={c: numeric(form, c) for c in columns},
        filters=filters,
        filtering=bool(state.filters or state.search),
        may_import=setup.may_import,
        found=found,
        cells=cells,
        page_sizes=PAGE_SIZES,
        pages=_pages(found),
        list_url=url_for("forms.listing", app_key=app_key, form_key=form_key),
        query=state.query(view=view.id if view else None),
    )


def _pages(found: Any) -> int:
    if found is None or not found.total:
        return 1
    return max(1, -(-found.total // found.page_size))


def _fill_choices(
    app_key: str, form_key: str, filters: list[ListFilter], records: list[Any]
) -> None:
    """Fill the options of the people filters and the suggestions of relation filters.

    People are offered by name as the organisation pickers offer them to the actor
    (``service.org_choices``: a dealer's person only within their dealer), together with
    the values of the rows on this page (a tier-1 dealer's sub-dealers) and those already
    chosen; no scan of the form's rows, so the page stays fast on large forms. Relation
    filters suggest titles of records the actor may read.
    """
    for item in filters:
        try:
            if item.kind == "people":
                item.options = _people_options(item, records)
            elif item.kind == "relation":
                found = service().records.relation_candidates(
                    actor(), app_key, form_key, item.key, limit=50
                )
                item.options = [(title, title) for _id, title in found if title]
        except ServiceError:
            item.options = [(v, v) for v in item.values]


def _people_options(item: ListFilter, records: list[Any]) -> list[tuple[str, str]]:
    choices = service().org_choices
    options = dict(choices.choices(actor(), item.org_kind, limit=200).items)
    for record in records:
        code, name = record.values.get(item.key), (record.names or {}).get(item.key)
        if isinstance(code, str) and code and code not in options:
            options[code] = name if isinstance(name, str) and name else code
    missing = [v for v in item.values if v not in options]
    if missing:
        named = choices.names(actor(), item.org_kind, missing)
        options.update({code: named.get(code, code) for code in missing})
    return sorted(options.items(), key=lambda pair: pair[1])


def _cells(app_key: str, form: Any, columns: list[str], records: list[Any]) -> list[list[str]]:
    """Each record's cells as text: related records' titles (one read per relation
    column for the whole page), names of people and codes, option labels."""
    titles = _titles(app_key, form, columns, records)
    return [[_cell(form, key, record, titles.get(key)) for key in columns] for record in records]


def _titles(
    app_key: str, form: Any, columns: list[str], records: list[Any]
) -> dict[str, dict[int, Any]]:
    titles: dict[str, dict[int, Any]] = {}
    for key in columns:
        if form.has_field(key) and form.field(key).type == "relation":
            ids = {r.values.get(key) for r in records if isinstance(r.values.get(key), int)}
            if not ids:
                continue
            try:
                titles[key] = service().records.relation_display(
                    actor(), app_key, form.key, key, sorted(ids)
                )
            except ServiceError:
                titles[key] = {}
    return titles


def _cell(form: Any, key: str, record: Any, titles: dict[int, Any] | None) -> str:
    if key == "status":
        return status(record.status)
    if key in ("created_at", "updated_at"):
        return when(getattr(record, key))
    if key == "created_by":
        return shown(record.created_by)
    if not form.has_field(key):
        return ""
    value = record.values.get(key)
    if (
        form.field(key).type == "relation"
        and isinstance(value, int)
        and not (titles or {}).get(value)
    ):
        return f"#{value}"
    return display(form.field(key), value, record.names, titles)


# -- bulk actions -------------------------------------------------------------------------------
def _chosen() -> list[int]:
    return [int(v) for v in request.form.getlist("record") if v.isdigit() and 0 < int(v) < 2**63][
        :MAX_BULK
    ]


def _back(app_key: str, form_key: str) -> Any:
    target = local_path(request.form.get("next"))
    return redirect(target or url_for("forms.listing", app_key=app_key, form_key=form_key))


def bulk_delete(app_key: str, form_key: str) -> Any:
    """Delete the chosen records, each on its own: a refusal is reported for its record
    and the others go ahead."""
    chosen = _chosen()
    if not chosen:
        flash(_("Choose records first"), "warning")
        return _back(app_key, form_key)
    done = 0
    for record_id in chosen:
        try:
            service().delete_record(actor(), app_key, form_key, record_id)
        except ServiceError as refused:
            flash(f"#{record_id}: {refused}", "danger")
        else:
            done += 1
    flash(_("%(count)s records deleted", count=done), "success" if done else "warning")
    return _back(app_key, form_key)


#: characters that make a spreadsheet read a cell as a formula
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(text: str) -> str:
    """A cell a spreadsheet shows as text (not run as a formula); numbers stay numbers."""
    if text.startswith(_FORMULA_START) and not _number_like(text):
        return "'" + text
    return text


def _number_like(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


class _ExportRequest(NamedTuple):
    """What a list export asks for: the form, the columns shown, the service filters
    (the chosen ids too, when a POST names them), the list's URL and its state."""

    form: Any
    columns: list[str]
    wanted: list[Any]
    back: str
    state: Any


def _export_request(app_key: str, form_key: str) -> _ExportRequest | Any:
    """The export's rows as the list shows them, or a redirect back to the list with
    the reason (a filter the service refuses, a POST that chose nothing)."""
    form, setup = _setup(app_key, form_key)
    state = state_from_args(request.args)
    columns = _columns(form, setup, state)
    filters = filters_of(form, setup.fields, replace(state, columns=columns))
    pairs, problems = service_filters(filters, state)
    wanted = [flt for _param, flt in pairs]
    back = url_for("forms.listing", app_key=app_key, form_key=form_key) + "?" + state.query()
    if problems:
        flash(problems[0].message, "danger")
        return redirect(back)
    if request.method == "POST":
        chosen = _chosen()
        if not chosen:
            flash(_("Choose records first"), "warning")
            return redirect(back)
        wanted.append(("id", "in", chosen))
    return _ExportRequest(form, columns, wanted, back, state)


def export_csv(app_key: str, form_key: str) -> Any:
    """The list's rows (the chosen ones, when a POST names them) as CSV: the columns
    shown, with the values as the page shows them; rows the actor may export only."""
    asked = _export_request(app_key, form_key)
    if not isinstance(asked, _ExportRequest):
        return asked  # back to the list, with the reason flashed
    form, columns, wanted, back, state = asked
    try:
        records = service().records.export(
            actor(),
            app_key,
            form_key,
            filters=wanted,
            search=state.search,
            sort=state.sort,
            with_subtables=False,
            batch=EXPORT_BATCH,
        )
        first = _batch(records)
    except ServiceError as refused:
        flash(str(refused), "danger")
        return redirect(back)
    heading = [column_label(form, c) for c in columns]

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")  # so that spreadsheets read the Chinese text as UTF-8
        writer.writerow(heading)
        batch = first
        while batch:
            for cells in _cells(app_key, form, columns, batch):
                writer.writerow([_csv_safe(c if c != "—" else "") for c in cells])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            batch = _batch(records)
        yield buffer.getvalue()

    name = f"{app_key}-{form_key}.csv"
    return Response(
        stream_with_context(lines()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _batch(records: Iterator[Any]) -> list[Any]:
    out = []
    for record in records:
        out.append(record)
        if len(out) >= EXPORT_BATCH:
            break
    return out


# -- xlsx export (service.exports: the same rows, typed cells, sub-table sheets) ---------------
#: seconds between reloads of a running export's page
EXPORT_REFRESH_SECONDS = 2
XLSX_MIME = mime_of("xlsx")


def export_xlsx(app_key: str, form_key: str) -> Any:
    """The list's rows (the chosen ones, when a POST names them) as xlsx: the columns
    shown, a sheet per sub-table. Up to ``DIRECT_LIMIT`` records download at once; more
    become a background export whose page shows its progress and then a download link."""
    asked = _export_request(app_key, form_key)
    if not isinstance(asked, _ExportRequest):
        return asked  # back to the list, with the reason flashed
    form, columns, wanted, back, state = asked
    exports = service().exports
    options = {"filters": wanted, "search": state.search}
    try:
        if exports.count(actor(), app_key, form_key, **options) > DIRECT_LIMIT:
            run_id = exports.submit(
                actor(),
                app_key,
                form_key,
                format="xlsx",
                sort=state.sort,
                columns=columns,
                **options,
            )
            flash(_("The export runs in the background; download it here when it is ready"), "info")
            return redirect(url_for("forms.export_run", run_id=run_id))
        made = exports.write(
            actor(), app_key, form_key, format="xlsx", sort=state.sort, columns=columns, **options
        )
    except ServiceError as refused:
        flash(str(refused), "danger")
        return redirect(back)
    return _send_file(made.path, made.file_name, made.mime)


def _send_file(path: Any, name: str, mime: str) -> Any:
    """Stream a temporary file and remove it once sent."""

    def chunks() -> Iterator[bytes]:
        try:
            with open(path, "rb") as handle:
                while block := handle.read(64 * 1024):
                    yield block
        finally:
            path.unlink(missing_ok=True)

    return Response(
        chunks(),
        mimetype=mime,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(path.stat().st_size),
        },
    )


def export_run(run_id: int) -> Any:
    """A background export of the actor's: progress, reloaded until done; then a link."""
    try:
        run = service().exports.get_run(actor(), run_id)
    except ServiceError:
        abort(404)
    answer = make_response(render_template("export_run.html", run=run))
    if run.status in ("queued", "running"):
        answer.headers["Refresh"] = str(EXPORT_REFRESH_SECONDS)
    return answer


def export_download(run_id: int) -> Any:
    """The file of a finished background export of the actor's."""
    try:
        name, data = service().exports.download(actor(), run_id)
    except NotFoundError:
        abort(404)
    except ServiceError as refused:
        flash(str(refused), "danger")
        return redirect(url_for("forms.export_run", run_id=run_id))
    mime = "text/csv" if name.endswith(".csv") else XLSX_MIME
    return Response(
        data, mimetype=mime, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# -- saved views --------------------------------------------------------------------------------
def _posted_state() -> ListState:
    """The list state a view form carries (the page's query string)."""
    text = request.form.get("state") or ""
    return state_from_args(MultiDict(parse_qsl(text[:8000])))


def save_view(app_key: str, form_key: str) -> Any:
    """Save the list's state as a new view of the actor's."""
    state = _posted_state()
    name = (request.form.get("name") or "").strip()
    try:
        view = service().saved_views.create(
            actor(),
            app_key,
            form_key,
            name,
            state.settings(),
            default=request.form.get("default") == "on",
        )
    except ServiceError as refused:
        flash(str(refused), "danger")
        target = url_for("forms.listing", app_key=app_key, form_key=form_key)
        return redirect(target + "?" + state.query())
    flash(_("View “%(name)s” saved", name=view.name), "success")
    return redirect(_view_url(app_key, form_key, view.id))


def _view_url(app_key: str, form_key: str, view_id: int) -> str:
    return url_for("forms.listing", app_key=app_key, form_key=form_key, view=view_id)


def change_view(app_key: str, form_key: str, view_id: int) -> Any:
    """Update one of the actor's views with the list's state, rename it, make it the
    default (or not), or delete it."""
    action = request.form.get("action", "update")
    views = service().saved_views
    try:
        if action == "delete":
            views.delete(actor(), view_id)
            flash(_("View deleted"), "success")
            return redirect(url_for("forms.listing", app_key=app_key, form_key=form_key, reset=1))
        if action == "default":
            views.update(actor(), view_id, default=request.form.get("default") == "on")
        else:
            name = (request.form.get("name") or "").strip() or None
            views.update(actor(), view_id, name=name, settings=_posted_state().settings())
        flash(_("View updated"), "success")
    except ServiceError as refused:
        flash(str(refused), "danger")
    return redirect(_view_url(app_key, form_key, view_id))
