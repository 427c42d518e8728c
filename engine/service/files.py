"""Uploaded files: streamed to disk with limits enforced while streaming, then recorded.

The bytes go to ``<files_dir>/<app>/<form>/<uuid>``; the ``files`` row and the returned
metadata (``{id, name, size, content_type, sha256}``) are what an attachment value holds.

A record's attachment value is not trusted as sent (:func:`attach_files`): every file id
new to the record must be a ``files`` row of the same app, form and field (``lines.photo``
for a sub-table column) that no other record holds, and the stored metadata replaces
what the client sent. The first record saved with a file claims it for good
(``files.record_id``, :func:`claim_files`): removing the file from that record later
does not free it, since the record's history still shows it.
"""

from __future__ import annotations

import hashlib
import mimetypes
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa

from engine.definitions.model import FieldDefinition
from engine.errors import RecordError, RecordValidationError
from engine.fields.base import FieldValueError
from engine.fields.common import bilingual
from engine.fields.files import check_upload
from engine.store.engine_tables import files

CHUNK = 64 * 1024


def store_file(
    conn: sa.Connection,
    files_dir: Path,
    app: str,
    form: str,
    field: FieldDefinition,
    filename: str,
    stream: BinaryIO,
    *,
    actor_id: str,
    now: datetime,
    field_path: str | None = None,
) -> dict[str, Any]:
    """Write ``stream`` to disk and record it; RecordValidationError for a refused file.

    The extension is checked before reading; the size after every chunk, so an oversized
    upload stops at the limit instead of filling the disk. A refused file leaves nothing.
    ``field_path`` is ``lines.photo`` for a sub-table column (default: the field key).
    """
    field_path = field_path or field.key
    _check(field, filename, 0, field_path)
    file_id = str(uuid.uuid4())
    folder = files_dir / app / form
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_id
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                _check(field, filename, size, field_path)
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    meta = {
        "id": file_id,
        "name": filename,
        "size": size,
        "content_type": mimetypes.guess_type(filename)[0] or "application/octet-stream",
        "sha256": digest.hexdigest(),
    }
    try:
        conn.execute(
            files.insert().values(
                **meta,
                app=app,
                form=form,
                field=field_path,
                path=str(path.relative_to(files_dir)),
                created_at=now,
                created_by=actor_id,
            )
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return meta


def _check(field: FieldDefinition, filename: str, size: int, path: str) -> None:
    try:
        check_upload(field, filename, size)
    except FieldValueError as exc:
        raise RecordValidationError([RecordError(path, exc.message, exc.code)]) from exc


#: the keys of an attachment item, all taken from the ``files`` row
META_KEYS = ("id", "name", "size", "content_type", "sha256")


@dataclass(frozen=True)
class FileField:
    """An attachment/image field or sub-table column of a form."""

    #: ``quote``, or ``lines.photo`` for a column: the ``files.field`` and RecordError field
    path: str
    subtable: str | None
    field: FieldDefinition


def file_fields(form: Any) -> tuple[FileField, ...]:
    """Every attachment/image field and sub-table column of a form definition."""
    found = []
    for f in form.fields:
        if f.type in ("attachment", "image"):
            found.append(FileField(f.key, None, f))
        for column in f.fields if f.type == "subtable" else ():
            if column.type in ("attachment", "image"):
                found.append(FileField(f"{f.key}.{column.key}", f.key, column))
    return tuple(found)


@dataclass
class _Pending:
    file_field: FileField
    row: int | None
    items: list[dict[str, Any]]
    position: int


def attach_files(
    conn: sa.Connection,
    app: str,
    form: str,
    fields: tuple[FileField, ...],
    values: Mapping[str, Any],
    existing: Mapping[str, Any] | None,
    record_id: int | None,
) -> dict[str, _Pending]:
    """Check the files in ``values`` and put the stored metadata in place of the client's.

    Files already in the stored record's same field keep the stored item (no query);
    the others are read in one query (locked on PostgreSQL, so two records cannot
    claim one file) and must belong to this app, form and field and to no other
    record. Returns the ids new to the record, for :func:`claim_files` once the record
    has its id. Raises RecordValidationError (code ``file``, or the field's own
    ``file_type`` / ``file_size`` when its limits changed since the upload).
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
                    errors.append(_error(ff, row, item, *_TWICE))
                    continue
                seen.add(file_id)
                if file_id in known:
                    items[position] = {k: known[file_id].get(k) for k in META_KEYS}
                else:
                    pending[file_id] = _Pending(ff, row, items, position)
    if pending:
        stmt = sa.select(files).where(files.c.id.in_(list(pending))).with_for_update()
        stored = {r["id"]: r for r in conn.execute(stmt).mappings()}
        for file_id, p in pending.items():
            problem = _problem(stored.get(file_id), app, form, p.file_field, record_id)
            item = p.items[p.position]
            if problem is not None:
                errors.append(_error(p.file_field, p.row, item, *problem))
                continue
            meta = {k: stored[file_id][k] for k in META_KEYS}
            p.items[p.position] = meta
            try:  # the field's limits may have tightened since the upload
                check_upload(p.file_field.field, meta["name"], meta["size"])
            except FieldValueError as exc:
                errors.append(RecordError(p.file_field.path, exc.message, exc.code, p.row))
    if errors:
        raise RecordValidationError(errors)
    return pending


def claim_files(conn: sa.Connection, pending: Mapping[str, _Pending], record_id: int) -> None:
    """Mark the newly attached files as this record's (after :func:`attach_files`).

    The guard on ``record_id`` makes the claim itself safe against a concurrent
    writer: if a file was taken meanwhile, the whole write is refused.
    """
    if not pending:
        return
    result = conn.execute(
        files.update()
        .where(
            files.c.id.in_(list(pending)),
            sa.or_(files.c.record_id.is_(None), files.c.record_id == record_id),
        )
        .values(record_id=record_id)
    )
    if result.rowcount != len(pending):
        p = next(iter(pending.values()))
        item = p.items[p.position]
        raise RecordValidationError(
            [_error(p.file_field, p.row, item, *_TAKEN)]  # taken by a concurrent save
        )


_TWICE = ("is listed twice; attach it once", "出现了两次，请只附加一次")
_TAKEN = (
    "is already attached to another record; upload it again to attach a copy here",
    "已附加在另一条记录上，请重新上传",
)


def _items(
    values: Mapping[str, Any], ff: FileField
) -> Iterator[tuple[int | None, list[dict[str, Any]]]]:
    """(1-based row number, the list of file items) of a file field or of each row's column."""
    if ff.subtable is None:
        items = values.get(ff.path)
        if items:
            yield None, items
        return
    column = ff.field.key
    for index, row in enumerate(values.get(ff.subtable) or (), start=1):  # rows count from 1
        items = row.get(column)
        if items:
            yield index, items


def _problem(
    row: Mapping[str, Any] | None, app: str, form: str, ff: FileField, record_id: int | None
) -> tuple[str, str] | None:
    if row is None:
        return (
            "was not uploaded (unknown file id); upload it again",
            "不是已上传的文件（未知的文件 id），请重新上传",
        )
    if (row["app"], row["form"], row["field"]) != (app, form, ff.path):
        return (
            f"was uploaded for another field, not '{ff.field.label.en}'; upload it here again",
            f"是为其他字段上传的，不属于“{ff.field.label.zh_cn}”，请在此重新上传",
        )
    if row["record_id"] is not None and row["record_id"] != record_id:
        return _TAKEN
    return None


def _error(
    ff: FileField, row: int | None, item: Mapping[str, Any], en: str, zh: str
) -> RecordError:
    name = item.get("name") or item.get("id")
    return RecordError(ff.path, bilingual(f"file {name} {en}", f"文件 {name} {zh}"), "file", row)
