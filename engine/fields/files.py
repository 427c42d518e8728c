"""Files: ``attachment``, ``image`` and ``signature``.

The value is a list of file metadata ``{id, name, size, content_type, sha256}``; the
service streams the bytes and calls :func:`clean_file_name`, :func:`check_upload` and
:func:`check_content` on the way, so a bad name, a wrong type or an oversized file is
refused with the field's own limits. Messages come from :mod:`engine.fields.file_messages`.

A ``signature`` is a handwritten signature drawn on the form page: one PNG file, uploaded
and checked like an image (never a data URL inside the record).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from engine.definitions.model import FieldDefinition
from engine.fields.base import ColumnSpec, FieldType, InputSource, OptionProblem
from engine.fields.common import check_text, is_blank_input
from engine.fields.file_messages import file_failure
from engine.fields.file_signatures import detect_type

DEFAULT_MAX_SIZE = 20 * 1024 * 1024
#: a drawn signature is a small PNG; anything bigger is not one
SIGNATURE_MAX_SIZE = 1024 * 1024
IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "gif", "webp")
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?B?)\s*", re.IGNORECASE)
_UNITS = {
    "": 1,
    "B": 1,
    "K": 1024,
    "KB": 1024,
    "M": 1024**2,
    "MB": 1024**2,
    "G": 1024**3,
    "GB": 1024**3,
}
_META_KEYS = ("id", "name", "size", "content_type", "sha256")


def parse_size(value: int | str) -> int:
    """Bytes from a size as written in YAML: 10MB, 500KB, 1.5 GB or a plain number of bytes.

    Units are binary (1 KB = 1024 bytes), as file managers show them. Raises ValueError.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a size like 10MB, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a size cannot be negative: {value}")
        return value
    match = _SIZE.fullmatch(str(value))
    if not match:
        raise ValueError(f"expected a size like 10MB or 500KB, got {value!r}")
    number, unit = match.groups()
    return int(float(number) * _UNITS[unit.upper()])


def format_size(size: int) -> str:
    """A byte count the way a person reads it (20MB, 500KB, 12B)."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            amount = size / factor
            return f"{amount:.0f}{unit}" if amount == int(amount) else f"{amount:.1f}{unit}"
    return f"{size}B"


def extension_of(filename: str) -> str:
    """The lower-case extension without its dot ("" when there is none)."""
    stem, dot, extension = filename.rpartition(".")
    return extension.lower() if dot and stem else ""


class FileFieldType(FieldType):
    """Shared behaviour of attachments and images."""

    default_accept: ClassVar[tuple[str, ...]] = ()
    default_max_files: ClassVar[int] = 9
    default_max_size: ClassVar[int] = DEFAULT_MAX_SIZE
    option_properties: ClassVar[dict[str, Any]] = {
        "accept": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "max_size": {"type": ["integer", "string"]},
        "min_files": {"type": "integer", "minimum": 0},
        "max_files": {"type": "integer", "minimum": 1, "default": 9},
    }

    def accepted(self, field: FieldDefinition) -> tuple[str, ...]:
        """Allowed extensions, lower-case without dots; empty means any."""
        accept = field.option("accept") or self.default_accept
        return tuple(str(ext).lower().lstrip(".") for ext in accept)

    def max_size(self, field: FieldDefinition) -> int:
        """Largest file in bytes."""
        return parse_size(field.option("max_size", self.default_max_size))

    def max_files(self, field: FieldDefinition) -> int:
        """Most files the value holds."""
        return int(field.option("max_files", self.default_max_files))

    def check_options(self, field: FieldDefinition) -> list[OptionProblem]:
        problems = []
        try:
            self.max_size(field)
        except ValueError as exc:
            problems.append(OptionProblem("max_size", str(exc), "write 10MB or 500KB"))
        low, high = field.option("min_files"), self.max_files(field)
        if low is not None and low > high:
            problems.append(
                OptionProblem("min_files", f"min_files ({low}) exceeds max_files ({high})")
            )
        return problems

    def columns(self, field: FieldDefinition) -> list[ColumnSpec]:
        return [ColumnSpec("json")]

    def from_storage(self, field: FieldDefinition, row: Any) -> list[dict[str, Any]] | None:
        stored = row.get(field.key)
        return [dict(item) for item in stored] if stored else None

    def value_schema(self, field: FieldDefinition) -> dict[str, Any]:
        item = {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "size": {"type": "integer", "minimum": 0},
                "content_type": {"type": ["string", "null"]},
                "sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"},
            },
            "required": ["id", "name", "size"],
        }
        return {"type": "array", "items": item, "maxItems": self.max_files(field)}

    def coerce(self, field: FieldDefinition, raw: Any, source: InputSource = "json") -> Any:
        if is_blank_input(raw):
            return None
        if source == "excel":
            raise file_failure("from_excel")
        if isinstance(raw, str) and source == "web":
            try:  # the upload widget posts the metadata list as JSON text
                raw = json.loads(raw)
            except json.JSONDecodeError:
                raw = None
        if isinstance(raw, Mapping):
            raw = [raw]
        if not isinstance(raw, (list, tuple)):
            raise file_failure("not_a_list")
        files = [self._read_meta(field, item) for item in raw]
        self._check_count(field, len(files))
        return files or None

    def _read_meta(self, field: FieldDefinition, item: Any) -> dict[str, Any]:
        if not isinstance(item, Mapping) or not item.get("id") or not item.get("name"):
            raise file_failure("item_shape")
        name = check_text(str(item["name"]))
        size = item.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise file_failure("item_size", name=name)
        check_upload(field, name, size)
        return {
            "id": check_text(str(item["id"])),
            "name": name,
            "size": size,
            "content_type": _optional_text(item, "content_type"),
            "sha256": _optional_text(item, "sha256"),
        }

    def _check_count(self, field: FieldDefinition, count: int) -> None:
        low, high = field.option("min_files"), self.max_files(field)
        if low is not None and count < low:
            raise file_failure("count_min", count=low)
        if count > high:
            raise file_failure("count_max", count=high)

    def to_json(self, field: FieldDefinition, value: Any) -> Any:
        return None if value is None else [{k: f.get(k) for k in _META_KEYS} for f in value]

    def display(self, field: FieldDefinition, value: Any, locale: str = "zh-CN") -> str:
        return ", ".join(f["name"] for f in value) if value else ""


def _optional_text(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise file_failure("item_text", part=key)
    return check_text(value)


class AttachmentType(FileFieldType):
    name = "attachment"


class ImageType(FileFieldType):
    name = "image"
    default_accept = IMAGE_EXTENSIONS


class SignatureType(FileFieldType):
    """A handwritten signature: one PNG drawn on the page, stored as an uploaded file."""

    name = "signature"
    default_accept = ("png",)
    default_max_files = 1
    default_max_size = SIGNATURE_MAX_SIZE
    option_properties: ClassVar[dict[str, Any]] = {
        "max_size": {"type": ["integer", "string"]},
    }


_FILE_TYPES: dict[str, FileFieldType] = {
    "attachment": AttachmentType(),
    "image": ImageType(),
    "signature": SignatureType(),
}
#: the field types whose value is a list of uploaded files
FILE_TYPE_NAMES: tuple[str, ...] = tuple(_FILE_TYPES)


def check_upload(field: FieldDefinition, filename: str, size: int) -> None:
    """Refuse a file the field does not take: wrong extension (``file_type``) or too big
    (``file_size``). The service calls this before it reads the bytes and after every chunk."""
    kind = _FILE_TYPES[field.type]
    accepted = kind.accepted(field)
    if accepted and extension_of(filename) not in accepted:
        raise file_failure("type_extension", name=filename, allowed=", ".join(accepted))
    limit = kind.max_size(field)
    if size > limit:
        raise file_failure("size", name=filename, size=format_size(size), limit=format_size(limit))


def check_content(field: FieldDefinition, filename: str, head: bytes, *, final: bool) -> str:
    """The content type of an upload judged by its first bytes; FieldValueError (``file_type``)
    when they are not what its extension declares (see :mod:`engine.fields.file_signatures`).

    ``head``: the first :data:`~engine.fields.file_signatures.HEAD_SIZE` bytes, or the
    whole file when ``final``.
    """
    accepted = _FILE_TYPES[field.type].accepted(field)
    return detect_type(filename, extension_of(filename), head, accepted, final=final)


#: the ``name`` column's length; names are counted in characters, as PostgreSQL does
MAX_NAME_LENGTH = 255
#: characters a name cannot hold: C0/C1 controls (NUL, line breaks, tab...) and the
#: bidirectional overrides that make ``invoice\u202efdp.exe`` display as ``invoiceexe.pdf``
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_file_name(filename: str) -> str:
    """The display name to store for an upload; FieldValueError (code ``file_name``) if unusable.

    A name is shown to people, never used as a path: directory parts a browser or a
    client sends (``C:\\fakepath\\x.pdf``, ``../../x.pdf``) are dropped, keeping the last
    part, and surrounding spaces are trimmed. Refused: an empty name, control characters
    (NUL, tabs, line breaks, text-direction overrides), lone surrogates (not valid
    Unicode, and PostgreSQL cannot store them) and names over :data:`MAX_NAME_LENGTH`
    characters.
    """
    name = re.split(r"[/\\]", filename)[-1].strip(" ")
    if _SURROGATE.search(name):
        raise file_failure("name_encoding", name=_shorten(_SURROGATE.sub("\ufffd", name)))
    if _CONTROL.search(name):
        raise file_failure("name_control", name=_shorten(_CONTROL.sub("\ufffd", name)))
    if name in ("", ".", ".."):
        raise file_failure("name_empty")
    if len(name) > MAX_NAME_LENGTH:
        raise file_failure("name_long", length=len(name), limit=MAX_NAME_LENGTH)
    return name


def _shorten(name: str, limit: int = 60) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


FIELD_TYPES: tuple[FieldType, ...] = tuple(_FILE_TYPES.values())
