"""Every message about uploaded files, in one catalogue: zh-CN and en text per key.

Field types raise them as :class:`FieldValueError` (:func:`file_failure`), whose
``translations`` carry both languages so a form shows the one it is in; the service
builds its :class:`RecordError` text in the actor's locale (:func:`file_message`).
A parameter given as :class:`I18nText` (a field label, a file kind) is put in the
message in the same language as the rest of it.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from engine.definitions.model import I18nText
from engine.fields.base import FieldValueError
from engine.fields.common import bilingual

#: message key -> (RecordError / FieldValueError code, text); texts are str.format templates
FILE_MESSAGES = MappingProxyType(
    {
        # -- the file's name --------------------------------------------------------------
        "name_empty": (
            "file_name",
            I18nText(
                "文件名为空，请给文件起个名字再上传",
                "The file has no name; name it and upload again",
            ),
        ),
        "name_control": (
            "file_name",
            I18nText(
                "文件名 “{name}” 含有控制字符（如换行、空字符或文字方向控制符），请重命名后再上传",
                "The file name '{name}' contains control characters (such as a line break, "
                "NUL or a text-direction mark); rename the file and upload it again",
            ),
        ),
        "name_encoding": (
            "file_name",
            I18nText(
                "文件名 “{name}” 含有无效的 Unicode 字符，请重命名后再上传",
                "The file name '{name}' contains invalid Unicode characters; "
                "rename the file and upload it again",
            ),
        ),
        "name_long": (
            "file_name",
            I18nText(
                "文件名有 {length} 个字符，最多 {limit} 个，请改短后再上传",
                "The file name has {length} characters, at most {limit} are allowed; "
                "shorten it and upload again",
            ),
        ),
        "item_text": (
            "type",
            I18nText("文件的 {part} 应为文本", "The file's {part} must be text"),
        ),
        # -- the file's type --------------------------------------------------------------
        "type_extension": (
            "file_type",
            I18nText(
                "{name}：只能上传 {allowed} 格式的文件", "{name}: this field takes {allowed} files"
            ),
        ),
        "type_program": (
            "file_type",
            I18nText(
                "{name} 的内容是{detected}，不能上传程序或脚本",
                "{name} is {detected}; programs and scripts cannot be uploaded",
            ),
        ),
        "type_mismatch": (
            "file_type",
            I18nText(
                "{name} 不是{declared}，其内容看起来是{detected}；请上传原始文件或改正扩展名",
                "{name} is not {declared}: its content looks like {detected}; "
                "upload the original file or correct its extension",
            ),
        ),
        "type_unknown": (
            "file_type",
            I18nText(
                "{name}：无法核对 .{extension} 文件的内容，只有字段的允许类型（accept）"
                "列出 {extension} 时才能上传",
                "{name}: the content of .{extension} files cannot be checked, so they are "
                "taken only when the field's accept list names {extension}",
            ),
        ),
        "type_no_extension": (
            "file_type",
            I18nText(
                "{name} 没有扩展名，无法核对其类型；请加上扩展名（如 .pdf）再上传",
                "{name} has no extension, so its type cannot be checked; "
                "add one (such as .pdf) and upload again",
            ),
        ),
        # -- the file's size and count ----------------------------------------------------
        "size": (
            "file_size",
            I18nText(
                "{name} 大小为 {size}，超过上限 {limit}",
                "{name} is {size}; the limit is {limit}",
            ),
        ),
        "count_min": (
            "files_count",
            I18nText("至少上传 {count} 个文件", "upload at least {count} files"),
        ),
        "count_max": (
            "files_count",
            I18nText("最多上传 {count} 个文件", "upload at most {count} files"),
        ),
        # -- an attachment value ----------------------------------------------------------
        "from_excel": (
            "type",
            I18nText(
                "文件无法从表格导入，请在表单中上传",
                "files cannot be imported from a spreadsheet; upload them in the form",
            ),
        ),
        "not_a_list": (
            "type",
            I18nText("应为已上传文件的列表", "expected a list of uploaded files"),
        ),
        "item_shape": (
            "type",
            I18nText(
                "每个文件需要 id 和 name，请先上传",
                "each file needs an id and a name; upload it first",
            ),
        ),
        "item_size": (
            "type",
            I18nText(
                "文件 {name}：size 应为字节数", "file {name}: size must be a whole number of bytes"
            ),
        ),
        "unknown_id": (
            "file",
            I18nText(
                "文件 {name} 不是已上传的文件（未知的文件 id），请重新上传",
                "file {name} was not uploaded (unknown file id); upload it again",
            ),
        ),
        "other_field": (
            "file",
            I18nText(
                "文件 {name} 是为其他字段上传的，不属于“{label}”，请在此重新上传",
                "file {name} was uploaded for another field, not '{label}'; upload it here again",
            ),
        ),
        "listed_twice": (
            "file",
            I18nText(
                "文件 {name} 出现了两次，请只附加一次",
                "file {name} is listed twice; attach it once",
            ),
        ),
        "taken": (
            "file",
            I18nText(
                "文件 {name} 已附加在另一条记录上，请重新上传",
                "file {name} is already attached to another record; "
                "upload it again to attach a copy here",
            ),
        ),
    }
)


def file_code(key: str) -> str:
    """The stable error code of a catalogue message (``file_type``, ``file_name``...)."""
    return FILE_MESSAGES[key][0]


def file_message(key: str, locale: str, **params: Any) -> str:
    """The catalogue message ``key`` in ``locale`` (``en*`` English, else Chinese)."""
    text = FILE_MESSAGES[key][1].get(locale)
    values = {k: v.get(locale) if isinstance(v, I18nText) else v for k, v in params.items()}
    return text.format(**values)


def file_failure(key: str, **params: Any) -> FieldValueError:
    """A :class:`FieldValueError` for the catalogue message ``key`` (raise the result).

    ``translations`` holds each language on its own; ``message`` (for logs) both.
    """
    en, zh = file_message(key, "en", **params), file_message(key, "zh-CN", **params)
    return FieldValueError(bilingual(en, zh), file_code(key), {"en": en, "zh-CN": zh})
