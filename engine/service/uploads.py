"""Files: uploads for attachment and image fields, and sweeping what interrupted ones left."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

from engine.errors import NotFoundError, RecordError, RecordValidationError, ServiceError
from engine.fields.files import FILE_TYPE_NAMES
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.files import remove_stale_uploads, remove_unrecorded_files, store_file
from engine.service.forms import FormRuntime
from engine.store import files as file_store

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
            access = tx.access(actor)
            form = runtime.definition
            # an upload is only ever attached by a create or an update: one must be allowed
            if not any(access.allows(form, a) for a in ("create", "update", "import")):
                access.require(form, "create", actor.locale)
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

    def open(
        self, actor: Actor, app_key: str, form_key: str, file_id: str
    ) -> tuple[dict[str, Any], Path]:
        """A stored file the actor may download: its metadata and where its bytes are.

        A file attached to a record is readable by whoever may read that record (the
        record source decides) unless its field is hidden from them; a file not yet
        attached only by its uploader. Anything else reads as not found, exactly like a
        file id that does not exist.
        """
        files_dir = self._files_dir()
        missing = NotFoundError(f"{app_key}.{form_key} has no file {file_id!r}")
        if not isinstance(file_id, str) or not 0 < len(file_id) <= 36:
            raise missing
        with self._context.transactions.read(app_key) as tx:
            runtime = tx.form(form_key)
            access = tx.access(actor)
            row = file_store.file_row(tx.conn, file_id)
            if row is None or (row["app"], row["form"]) != (app_key, form_key):
                raise missing
            if row["field"].split(".")[0] in access.hidden(runtime.definition):
                raise missing
            if row["record_id"] is None:
                if row["created_by"] != actor.user_id and not access.admin:
                    raise missing
            else:
                if not access.allows(runtime.definition, "read"):
                    raise missing
                try:
                    tx.source(form_key, access.scope(form_key, "read")).row(row["record_id"])
                except NotFoundError:
                    raise missing from None
        metadata = {
            k: row[k] for k in ("id", "name", "size", "content_type", "sha256", "record_id")
        }
        return metadata, files_dir / row["path"]

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
    if field.type not in FILE_TYPE_NAMES:
        if locale.startswith("en"):
            message = f"{field_key} is a {field.type} field, not a file field"
        else:
            message = f"“{field.label.zh_cn}”（{field_key}）不是附件或图片字段，不能上传文件"
        raise RecordValidationError([RecordError(field_key, message, "file")])
    return field
