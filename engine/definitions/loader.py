"""Load an app's definitions: read, parse, validate against the schema, check, build.

Every problem of every file is collected and reported at once, sorted by file and
position; nothing is built unless there are none.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.definitions import kinds
from engine.definitions.build import build_app, build_form
from engine.definitions.checks import APP_CHECKS, FORM_CHECKS
from engine.definitions.checks.dashboards import check_dashboards
from engine.definitions.checks.jobs import check_jobs
from engine.definitions.checks.ledgers import check_ledgers
from engine.definitions.context import AppContext
from engine.definitions.dashboard_schema import dashboard_schema_errors
from engine.definitions.dashboards import dashboard_from_data
from engine.definitions.files import MAX_FILE_BYTES, SourceFile, read_app_files, too_large
from engine.definitions.flows import flow_from_data
from engine.definitions.job_schema import job_schema_errors
from engine.definitions.jobs import job_from_data
from engine.definitions.ledger_schema import ledger_schema_errors
from engine.definitions.ledgers import ledger_from_data
from engine.definitions.machines import machine_from_data
from engine.definitions.model import AppDefinition
from engine.definitions.rules import rule_from_data
from engine.definitions.schema_errors import schema_errors
from engine.definitions.source import Path as DataPath
from engine.definitions.source import Source, file_error, parse_path
from engine.definitions.yaml_reader import read_documents
from engine.errors import DefinitionError, DefinitionErrors


def load_app(path: str | Path) -> AppDefinition:
    """The app in a folder (``app.yaml`` + ``forms/``) or one multi-document YAML file.

    Raises :class:`DefinitionErrors` with every problem found.
    """
    files, errors = read_app_files(path, kinds.folders())
    return _finish(*_load(files, errors, one_file=Path(path).is_file(), source_path=str(path)))


def check_app(path: str | Path) -> list[DefinitionError]:
    """Every problem of the app at ``path``, sorted; empty when it loads."""
    files, errors = read_app_files(path, kinds.folders())
    errors, _app = _load(files, errors, one_file=Path(path).is_file(), source_path=str(path))
    return sorted(errors, key=DefinitionError.sort_key)


def load_app_text(text: str, filename: str = "app.yaml") -> AppDefinition:
    """A one-file app from a string: the app document, then one document per form."""
    size = len(text.encode("utf-8"))
    if size > MAX_FILE_BYTES:
        raise DefinitionErrors([too_large(filename, size)])
    return _finish(*_load([SourceFile(filename, text)], [], one_file=True, source_path=None))


def check_app_text(text: str, filename: str = "app.yaml") -> list[DefinitionError]:
    """Every problem of a one-file app given as a string, sorted."""
    size = len(text.encode("utf-8"))
    if size > MAX_FILE_BYTES:
        return [too_large(filename, size)]
    errors, _app = _load([SourceFile(filename, text)], [], one_file=True, source_path=None)
    return sorted(errors, key=DefinitionError.sort_key)


def _finish(errors: list[DefinitionError], app: AppDefinition | None) -> AppDefinition:
    if errors or app is None:
        raise DefinitionErrors(errors)
    return app


def _load(
    files: Sequence[SourceFile],
    errors: list[DefinitionError],
    *,
    one_file: bool,
    source_path: str | None,
) -> tuple[list[DefinitionError], AppDefinition | None]:
    errors = list(errors)
    documents: dict[str, list[Source]] = {name: [] for name in kinds.KINDS}
    #: where the reader already reported a value (its schema errors would repeat it)
    read_errors: set[tuple[str, int, int, str]] = set()
    for file in files:
        sources, problems = read_documents(file.text, file.name)
        errors.extend(problems)
        read_errors.update((e.file, e.line, e.column, e.path) for e in problems)
        if not sources and not problems:
            errors.append(file_error(file.name, "the file is empty"))
        for index, source in enumerate(_split_rule_lists(sources, one_file)):
            kind = _expected_kind(source, index, one_file, errors)
            if kind is not None:
                documents[kind].append(source)
    app_source = documents["app"][0] if documents["app"] else None
    if app_source is None and files and not errors:
        errors.append(file_error(files[0].name, "missing the app document", "start with app:"))
    for extra in documents["app"][1:]:
        errors.append(extra.fail((), "an app has one app document", "remove this one"))
    broken: dict[int, frozenset[DataPath]] = {}
    for kind, sources in documents.items():
        for source in sources:
            # job documents have a schema of their own (engine/definitions/job_schema.py)
            # ledgers too (engine/definitions/ledger_schema.py)
            # dashboards too (engine/definitions/dashboard_schema.py)
            if kind == "ledger":
                problems = ledger_schema_errors(source)
            elif kind == "dashboard":
                problems = dashboard_schema_errors(source)
            else:
                problems = (
                    job_schema_errors(source) if kind == "job" else schema_errors(kind, source)
                )
            errors.extend(
                p for p in problems if (p.file, p.line, p.column, p.path) not in read_errors
            )
            broken[id(source)] = frozenset(parse_path(problem.path) for problem in problems)
    context = AppContext.of(app_source, documents, broken)
    for app_check in (*APP_CHECKS, check_jobs, check_ledgers, check_dashboards):
        errors.extend(app_check(context))
    for form in context.forms.values():
        for check in FORM_CHECKS:
            errors.extend(check(form, context))
    if errors or app_source is None:
        return errors, None
    forms = [build_form(source) for source in documents["form"]]
    flows = [flow_from_data(source.data, source.file) for source in documents["flow"]]
    rules = [_rule(source) for source in documents["rule"]]
    jobs = [
        job_from_data(source.data, source.file, source.span(("job",)).line)
        for source in documents["job"]
    ]
    machines = [
        machine_from_data(source.data, source.file, source.span(("machine",)).line)
        for source in documents["machine"]
    ]
    ledgers = tuple(
        ledger_from_data(source.data, source.file, source.span(("ledger",)).line)
        for source in documents["ledger"]
    )
    dashboards = tuple(_dashboard(source) for source in documents["dashboard"])
    app = build_app(app_source, forms, source_path, flows, rules, jobs, machines)
    if ledgers or dashboards:
        app = dataclasses.replace(app, ledgers=ledgers, dashboards=dashboards)
    return errors, app


def _split_rule_lists(sources: list[Source], one_file: bool) -> list[Source]:
    """A rules file may hold a list of rules: each item becomes a document of its own
    (with its own positions, so errors keep their line and column)."""
    out: list[Source] = []
    for source in sources:
        if (
            one_file
            or not isinstance(source.data, list)
            or kinds.kind_of_folder(source.file).name != "rule"
        ):
            out.append(source)
            continue
        for i, item in enumerate(source.data):
            spans = {p[1:]: s for p, s in source.spans.items() if p and p[0] == i}
            out.append(Source(source.file, item, spans))
    return out


def _rule(source: Source) -> Any:
    actions = source.get(("actions",)) or []
    lines = tuple(source.span(("actions", i)).line for i in range(len(actions)))
    return rule_from_data(source.data, source.file, source.span(("rule",)).line, lines)


def _dashboard(source: Source) -> Any:
    """A dashboard with the line of each widget, measure, dimension and filter."""
    lines: dict[str, int] = {}
    for path in source.spans:
        if len(path) in (2, 4) and path[0] in ("widgets", "filters"):
            if len(path) == 4 and path[2] not in ("measures", "dimensions", "columns"):
                continue
            span = source.span(path)
            lines[".".join(str(p) for p in path)] = span.key_line or span.line
    return dashboard_from_data(source.data, source.file, source.span(("dashboard",)).line, lines)


def _expected_kind(
    source: Source, index: int, one_file: bool, errors: list[DefinitionError]
) -> str | None:
    """The kind of a document, or None (with an error) when it is not the kind expected."""
    if source.data is None:
        errors.append(source.fail((), "the document is empty", "remove the extra ---"))
        return None
    if one_file:
        expected: Any = kinds.KINDS["app"] if index == 0 else kinds.kind_of_document(source)
    else:
        expected = kinds.kind_of_folder(source.file)
    if expected is None:
        names = ", ".join(f"{k}:" for k in kinds.KINDS if k != "app")
        errors.append(source.fail((), "unknown kind of document", f"start it with one of: {names}"))
        return None
    if not isinstance(source.data, dict) or expected.name not in source.data:
        errors.append(
            source.fail(
                (),
                f"expected {expected.description}",
                f"the document must have the key '{expected.name}:'",
            )
        )
        return None
    return expected.name
