"""The kinds of definition document an app holds, and where each kind lives.

Later kinds (flows, rules, reports) are one new entry here, with their schema in
``$defs`` and their checks; the loader itself does not change.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.definitions.source import Source


@dataclass(frozen=True)
class Kind:
    """A kind of document: it starts with the key ``name`` and lives in ``folder``."""

    name: str
    folder: str | None
    description: str


KINDS: dict[str, Kind] = {
    "app": Kind("app", None, "the app itself (app.yaml)"),
    "form": Kind("form", "forms", "one form"),
    "flow": Kind("flow", "flows", "one approval flow attached to a form"),
    "rule": Kind("rule", "rules", "rules: a trigger on a form, a condition, actions"),
    "machine": Kind("machine", "machines", "a status machine: states and transitions"),
    "job": Kind("job", "jobs", "a batch job: a grouped query per period writing documents"),
    "ledger": Kind("ledger", "ledgers", "a ledger: accounts, append-only entries, lots"),
    "dashboard": Kind("dashboard", "dashboards", "a dashboard: filters and report widgets"),
}


def folders() -> list[str]:
    """The app sub-folders that hold definition files, in loading order."""
    return [kind.folder for kind in KINDS.values() if kind.folder]


def kind_of_folder(file_name: str) -> Kind:
    """The kind expected in ``file_name`` (``forms/order.yaml`` -> form; the app file -> app)."""
    folder = file_name.rpartition("/")[0]
    return next((k for k in KINDS.values() if k.folder and k.folder == folder), KINDS["app"])


def kind_of_document(source: Source) -> Kind | None:
    """The kind named by a document's keys (``form: order`` -> form), for one-file apps."""
    if not isinstance(source.data, dict):
        return None
    return next((KINDS[key] for key in source.data if key in KINDS), None)
