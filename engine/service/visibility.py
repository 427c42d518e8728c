"""What leaves the service: records, revisions and titles without the fields an actor may not see.

The record source already keeps rows outside the actor's scope out of every read; this
module removes hidden fields from what is returned (values, JSON values, revision
snapshots and diffs) and, when a record's title shows a hidden field, renders the title
again without it. Nothing else of the engine returns form data to a caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from typing import Any

from engine.service.forms import FormRuntime
from engine.service.permissions import TITLE
from engine.service.results import Record, Revision
from engine.store.rows import values_to_json


def shown_record(runtime: FormRuntime, record: Record, hidden: frozenset[str]) -> Record:
    """``record`` as an actor with these ``hidden`` fields may see it."""
    if not hidden:
        return record
    values = {k: v for k, v in record.values.items() if k not in hidden}
    names = {k: v for k, v in record.names.items() if k not in hidden}
    title = shown_title(runtime, values, record.title, hidden)
    # the JSON form is made again from the visible values, when asked for
    json_of = record._json_of or partial(values_to_json, runtime.tables)
    return replace(record, values=values, _json=None, _json_of=json_of, names=names, title=title)


def shown_title(
    runtime: FormRuntime, values: Mapping[str, Any], title: str | None, hidden: frozenset[str]
) -> str | None:
    """The stored title, or one rendered from the visible values when it shows a hidden one."""
    if TITLE not in hidden:
        return title
    visible = {k: v for k, v in values.items() if k not in hidden}
    return runtime.compiled.render_title(visible)


def shown_revision(revision: Revision, hidden: frozenset[str]) -> Revision:
    """A revision without hidden fields in its snapshot and its diff."""
    if not hidden:
        return revision
    data = {k: v for k, v in (revision.data or {}).items() if k not in hidden}
    changes = {k: v for k, v in (revision.changes or {}).items() if k not in hidden}
    return replace(revision, data=data, changes=changes)
