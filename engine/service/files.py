"""Uploaded files: streamed to disk with limits enforced while streaming, then recorded.

The bytes go to ``<files_dir>/<app>/<form>/<uuid>``; the ``files`` row and the returned
metadata (``{id, name, size, content_type, sha256}``) are what an attachment value holds.
"""

from __future__ import annotations

import hashlib
import mimetypes
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa

from engine.definitions.model import FieldDefinition
from engine.errors import RecordError, RecordValidationError
from engine.fields.base import FieldValueError
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
) -> dict[str, Any]:
    """Write ``stream`` to disk and record it; RecordValidationError for a refused file.

    The extension is checked before reading; the size after every chunk, so an oversized
    upload stops at the limit instead of filling the disk. A refused file leaves nothing.
    """
    _check(field, filename, 0)
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
                _check(field, filename, size)
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
                field=field.key,
                path=str(path.relative_to(files_dir)),
                created_at=now,
                created_by=actor_id,
            )
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return meta


def _check(field: FieldDefinition, filename: str, size: int) -> None:
    try:
        check_upload(field, filename, size)
    except FieldValueError as exc:
        raise RecordValidationError([RecordError(field.key, exc.message, exc.code)]) from exc
