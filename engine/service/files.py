"""Uploaded files: streamed to disk outside any transaction, then recorded in a short one.

:func:`store_file` streams an upload to ``<files_dir>/.incoming/<uuid>.part`` checking,
as the bytes arrive, the name, the extension, the size after every chunk and the
content's leading bytes against the declared type; then a short write transaction
inserts the ``files`` row and, as its last step before the commit, moves the file to
``<files_dir>/<app>/<form>/<uuid>``. No database lock is held while the bytes arrive,
so a slow upload never makes another save wait. A crash leaves either a ``.part`` file
(removed by :func:`remove_stale_uploads`) or, between the move and the commit, a file
that no row names (removed by :func:`remove_unrecorded_files`); never a row without
its file.

A record's attachment value is not trusted as sent (:func:`attach_files`): every file id
new to the record must be a ``files`` row of the same app, form and field (``lines.photo``
for a sub-table column) that no other record holds, and the stored metadata replaces
what the client sent. The first record saved with a file claims it for good
(``files.record_id``, :func:`claim_files`): removing the file from that record later
does not free it, since the record's history still shows it.

Messages are in the actor's locale, from :mod:`engine.fields.file_messages`. Sub-table
rows in errors are 1-based (the first row is 1).
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from engine.definitions.model import FieldDefinition
from engine.errors import RecordError, RecordValidationError
from engine.fields.base import FieldValueError
from engine.fields.file_messages import file_code, file_message
from engine.fields.file_signatures import HEAD_SIZE
from engine.fields.files import FILE_TYPE_NAMES, check_content, check_upload, clean_file_name
from engine.store import files as file_store
from engine.store.database import Database

CHUNK = 64 * 1024
#: the folder (inside files_dir) where uploads are written until they are recorded
INCOMING = ".incoming"
PART_SUFFIX = ".part"

_T = TypeVar("_T")


def store_file(
    database: Database,
    files_dir: Path,
    app: str,
    form: str,
    field: FieldDefinition,
    filename: str,
    stream: BinaryIO,
    *,
    actor_id: str,
    clock: Callable[[], datetime],
    locale: str = "zh-CN",
    field_path: str | None = None,
) -> dict[str, Any]:
    """Stream ``stream`` to disk, then record it; RecordValidationError for a refused file.

    Returns the metadata an attachment value holds: ``{id, name, size, content_type,
    sha256}``, where ``name`` is ``filename`` without directory parts and
    ``content_type`` the type detected from the content. The name and extension are
    checked before reading, the size after every chunk (an oversized upload stops at
    the limit) and the content once its first bytes are in. A refused or interrupted
    upload leaves nothing behind. ``field_path`` is ``lines.photo`` for a sub-table
    column (default: the field key).
    """
    check = _Refusal(field_path or field.key, locale)
    name = check(clean_file_name, filename)
    check(check_upload, field, name, 0)
    incoming = files_dir / INCOMING
    incoming.mkdir(parents=True, exist_ok=True)
    file_id = str(uuid.uuid4())
    part = incoming / f"{file_id}{PART_SUFFIX}"
    final = files_dir / app / form / file_id
    moved = False
    try:
        size, sha256, content_type = _receive(stream, part, field, name, check)
        final.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "id": file_id,
            "name": name,
            "size": size,
            "content_type": content_type,
            "sha256": sha256,
        }
        with database.write() as conn:
            file_store.insert_file(
                conn,
                {
                    **meta,
                    "app": app,
                    "form": form,
                    "field": check.path,
                    "path": final.relative_to(files_dir).as_posix(),
                    "created_at": clock(),
                    "created_by": actor_id,
                },
            )
            # last step before the commit: a crash from here on leaves a file no row
            # names (harmless), never a row whose file is missing
            os.replace(part, final)
            moved = True
    except BaseException:
        part.unlink(missing_ok=True)
        if moved:  # the commit failed: no row holds the file
            final.unlink(missing_ok=True)
        raise
    return meta


@dataclass(frozen=True)
class _Refusal:
    """Runs a field-type check; its FieldValueError becomes a RecordValidationError."""

    path: str
    locale: str

    def __call__(self, test: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        try:
            return test(*args, **kwargs)
        except FieldValueError as exc:
            error = RecordError(self.path, exc.in_locale(self.locale), exc.code)
            raise RecordValidationError([error]) from exc


def _receive(
    stream: BinaryIO, part: Path, field: FieldDefinition, name: str, check: _Refusal
) -> tuple[int, str, str]:
    """Copy ``stream`` into the new file ``part``, checking as it goes; (size, sha256, type).

    The first HEAD_SIZE bytes are kept in memory until the content is judged on them,
    so a refused program never reaches the disk.
    """
    digest = hashlib.sha256()
    size = 0
    head = b""
    content_type: str | None = None
    with part.open("xb") as out:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            check(check_upload, field, name, size)
            digest.update(chunk)
            if content_type is None:
                head += chunk
                if len(head) < HEAD_SIZE:
                    continue
                content_type = check(check_content, field, name, head[:HEAD_SIZE], final=False)
                chunk = head
            out.write(chunk)
        if content_type is None:  # the whole file is shorter than the head
            content_type = check(check_content, field, name, head, final=True)
            out.write(head)
        out.flush()
        os.fsync(out.fileno())  # the bytes are on disk before a row points at them
    return size, digest.hexdigest(), content_type


def remove_stale_uploads(files_dir: str | Path, older_than: timedelta) -> list[Path]:
    """Delete the partial files of uploads that stopped (a killed process); the removed paths.

    Only ``<files_dir>/.incoming/*.part`` files untouched for ``older_than`` go: a live
    upload writes its file with every chunk, so pick a span longer than a client may
    stall (an hour is plenty). Safe to run at service start, from a command, or while
    other uploads run.
    """
    incoming = Path(files_dir) / INCOMING
    if not incoming.is_dir():
        return []
    cutoff = time.time() - older_than.total_seconds()
    removed = []
    for part in incoming.glob(f"*{PART_SUFFIX}"):
        try:
            if part.stat().st_mtime < cutoff:
                part.unlink()
                removed.append(part)
        except FileNotFoundError:  # finished or swept meanwhile
            continue
    return sorted(removed)


def remove_unrecorded_files(
    database: Database, files_dir: str | Path, older_than: timedelta
) -> list[Path]:
    """Delete stored files that no ``files`` row names; the removed paths.

    A process killed between moving an upload into place and committing its row
    leaves such a file (see :func:`store_file`). Only files under ``<app>/<form>/``
    untouched for ``older_than`` are considered, so an upload being recorded right now
    is never taken; the database is only read.
    """
    cutoff = time.time() - older_than.total_seconds()
    root = Path(files_dir)
    candidates = {
        path.name: path
        for path in root.glob("*/*/*")
        if not path.parts[len(root.parts)].startswith(".")  # .incoming is the other sweep's
        and _is_file_id(path.name)  # only what store_file wrote
        and path.is_file()
        and path.stat().st_mtime < cutoff
    }
    if not candidates:
        return []
    with database.read() as conn:
        recorded = file_store.recorded_ids(conn, candidates.keys())
    removed = []
    for file_id, path in candidates.items():
        if file_id not in recorded:
            path.unlink(missing_ok=True)
            removed.append(path)
    return sorted(removed)


def _is_file_id(name: str) -> bool:
    try:
        return str(uuid.UUID(name)) == name
    except ValueError:
        return False


#: the keys of an attachment item, all taken from the ``files`` row
META_KEYS = ("id", "name", "size", "content_type", "sha256")


@dataclass(frozen=True)
class FileField:
    """An attachment/image/signature field or sub-table column of a form."""

    #: ``quote``, or ``lines.photo`` for a column: the ``files.field`` and RecordError field
    path: str
    subtable: str | None
    field: FieldDefinition


def file_fields(form: Any) -> tuple[FileField, ...]:
    """Every attachment/image/signature field and sub-table column of a form definition."""
    found = []
    for f in form.fields:
        if f.type in FILE_TYPE_NAMES:
            found.append(FileField(f.key, None, f))
        for column in f.fields if f.type == "subtable" else ():
            if column.type in FILE_TYPE_NAMES:
                found.append(FileField(f"{f.key}.{column.key}", f.key, column))
    return tuple(found)


@dataclass
class _Pending:
    file_field: FileField
    row: int | None
    items: list[dict[str, Any]]
    position: int
    locale: str


def attach_files(
    conn: file_store.Connection,
    app: str,
    form: str,
    fields: tuple[FileField, ...],
    values: Mapping[str, Any],
    existing: Mapping[str, Any] | None,
    record_id: int | None,
    *,
    locale: str = "zh-CN",
    uploader: str | None = None,
) -> dict[str, _Pending]:
    """Check the files in ``values`` and put the stored metadata in place of the client's.

    With ``uploader``, a file no record holds yet must be one that ``uploader`` uploaded:
    a file id seen elsewhere (a link, a log) cannot be taken into someone else's record.

    Files already in the stored record's same field keep the stored item (no query);
    the others are read in one query (locked on PostgreSQL, so two records cannot
    claim one file) and must belong to this app, form and field and to no other
    record. Returns the ids new to the record, for :func:`claim_files` once the record
    has its id. Raises RecordValidationError in ``locale`` (code ``file``, or the
    field's own ``file_type`` / ``file_size`` when its limits changed since the upload).
    """
    errors: list[RecordError] = []
    seen: set[str] = set()
    pending: dict[str, _Pending] = {}
    for ff in fields:
        known = {item["id"]: item for _, items in _items(existing or {}, ff) for item in items}
        for row, items in _items(values, ff):
            for position, item in enumerate(items):
                file_id = item["id"]
                if file_id in seen:
                    errors.append(_error(ff, row, item, "listed_twice", locale))
                    continue
                seen.add(file_id)
                if file_id in known:
                    items[position] = {k: known[file_id].get(k) for k in META_KEYS}
                else:
                    pending[file_id] = _Pending(ff, row, items, position, locale)
    stored = file_store.lock_files(conn, pending.keys())
    for file_id, p in pending.items():
        item = p.items[p.position]
        problem = _problem(stored.get(file_id), app, form, p.file_field, record_id, uploader)
        if problem is not None:
            errors.append(_error(p.file_field, p.row, item, problem, locale))
            continue
        meta = {k: stored[file_id][k] for k in META_KEYS}
        p.items[p.position] = meta
        try:  # the field's limits may have tightened since the upload
            check_upload(p.file_field.field, meta["name"], meta["size"])
        except FieldValueError as exc:
            errors.append(RecordError(p.file_field.path, exc.in_locale(locale), exc.code, p.row))
    if errors:
        raise RecordValidationError(errors)
    return pending


def claim_files(
    conn: file_store.Connection, pending: Mapping[str, _Pending], record_id: int
) -> None:
    """Mark the newly attached files as this record's (after :func:`attach_files`).

    The guard on ``record_id`` makes the claim itself safe against a concurrent
    writer: if a file was taken meanwhile, the whole write is refused.
    """
    if not pending:
        return
    if file_store.claim_files(conn, pending.keys(), record_id) != len(pending):
        p = next(iter(pending.values()))  # taken by a concurrent save
        item = p.items[p.position]
        raise RecordValidationError([_error(p.file_field, p.row, item, "taken", p.locale)])


def _items(
    values: Mapping[str, Any], ff: FileField
) -> Iterator[tuple[int | None, list[dict[str, Any]]]]:
    """(1-based row, the list of file items) of a file field or of each row's column."""
    if ff.subtable is None:
        items = values.get(ff.path)
        if items:
            yield None, items
        return
    column = ff.field.key
    for index, row in enumerate(values.get(ff.subtable) or ()):
        items = row.get(column)
        if items:
            yield index + 1, items


def _problem(
    row: Mapping[str, Any] | None,
    app: str,
    form: str,
    ff: FileField,
    record_id: int | None,
    uploader: str | None,
) -> str | None:
    """The catalogue key of what is wrong with attaching the file of ``row``, or None."""
    if row is None:
        return "unknown_id"
    if uploader is not None and row["record_id"] is None and row["created_by"] != uploader:
        return "unknown_id"  # someone else's upload: as if it did not exist
    if (row["app"], row["form"], row["field"]) != (app, form, ff.path):
        return "other_field"
    if row["record_id"] is not None and row["record_id"] != record_id:
        return "taken"
    return None


def _error(
    ff: FileField, row: int | None, item: Mapping[str, Any], key: str, locale: str
) -> RecordError:
    name = item.get("name") or item.get("id")
    text = file_message(key, locale, name=name, label=ff.field.label)
    return RecordError(ff.path, text, file_code(key), row)
