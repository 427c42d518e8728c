"""Files: uploads for attachment and image fields, and sweeping what interrupted ones left."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

from engine.errors import NotFoundError, RecordError, RecordValidationError, ServiceError
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.files import remove_stale_uploads, remove_unrecorded_files, store_file
from engine.service.forms import FormRuntime

#: partial or unrecorded files older than this are an interrupted upload's leftovers
LEFTOVER_AGE = timedelta(hours=1)


class FileUseCases:
    """The file operations of one Service."""

    def __init__(self, context: ServiceContext):
        self._context = context

    def save(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        field_key: str,
        filename: str,
        stream: BinaryIO,
    ) -> dict[str, Any]:
        """Store an upload for an attachment/image field; the metadata its value holds.

        The bytes stream to a temporary file with no transaction open; only recording
        the file takes the write lock, for a moment, so other saves never wait for an
        upload. Refusals (name, type, content, size) are in the actor's locale.
        """
        files_dir = self._files_dir()
        with self._context.transactions.read(app_key) as tx:
            runtime = tx.form(form_key)
        field = _file_field(runtime, field_key, actor.locale)
        return store_file(
            self._context.transactions.database,
            files_dir,
            app_key,
            form_key,
            field,
            filename,
            stream,
            actor_id=actor.user_id,
            clock=self._context.clock,
            locale=actor.locale,
            field_path=field_key,
        )

    def sweep(self, actor: Actor, older_than: timedelta = LEFTOVER_AGE) -> list[Path]:
        """Remove what interrupted uploads left: partial files and files never recorded."""
        files_dir = self._files_dir()
        removed = remove_stale_uploads(files_dir, older_than)
        database = self._context.transactions.database
        return removed + remove_unrecorded_files(database, files_dir, older_than)

    def _files_dir(self) -> Path:
        if self._context.files_dir is None:
            raise ServiceError("this service has no files_dir; pass Service(..., files_dir=...)")
        return self._context.files_dir


def _file_field(runtime: FormRuntime, field_key: str, locale: str) -> Any:
    """The field (``quote``) or sub-table column (``lines.photo``) a file is uploaded for."""
    head, _, column = field_key.partition(".")
    try:
        field = runtime.definition.field(head)
        if column:
            if field.type != "subtable":
                raise KeyError(field_key)
            field = field.field(column)
    except KeyError:
        raise NotFoundError(f"{runtime.app}.{runtime.key} has no field {field_key!r}") from None
    if field.type not in ("attachment", "image"):
        if locale.startswith("en"):
            message = f"{field_key} is a {field.type} field, not a file field"
        else:
            message = f"“{field.label.zh_cn}”（{field_key}）不是附件或图片字段，不能上传文件"
        raise RecordValidationError([RecordError(field_key, message, "file")])
    return field
