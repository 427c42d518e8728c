"""Files of attachment and image fields: upload (multipart, field ``file``), giving the
metadata a record's value holds, and download (whoever may read the record it is
attached to; an unattached upload only its uploader: the service decides)."""

from __future__ import annotations

from typing import Any

from flask import request, send_file

from web.api.core import ApiError, actor, answer, blueprint, service

#: field keys are ``quote`` or ``lines.photo``; file ids are UUIDs: one URL, two methods
FILES_PATH = "/apps/<app_key>/forms/<form_key>/files/<name>"


@blueprint.post(FILES_PATH)
def upload_file(app_key: str, form_key: str, name: str) -> Any:
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(
            400,
            "请以 multipart/form-data 上传，文件放在 file 字段",
            "send multipart/form-data with the file in the part named 'file'",
            argument="file",
        )
    metadata = service().save_file(
        actor(), app_key, form_key, name, upload.filename or "", upload.stream
    )
    return answer(metadata, 201)


@blueprint.get(FILES_PATH)
def download_file(app_key: str, form_key: str, name: str) -> Any:
    metadata, path = service().open_file(actor(), app_key, form_key, name)
    if not path.is_file():
        raise ApiError(404, "文件内容不存在", "the file's content is missing")
    return send_file(
        path,
        mimetype=metadata.get("content_type") or "application/octet-stream",
        as_attachment=True,
        download_name=metadata.get("name") or name,
        etag=metadata.get("sha256") or True,
        max_age=0,
    )
