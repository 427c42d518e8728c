"""What an uploaded file really is, judged by its leading bytes ("magic numbers").

The table is data: each :class:`FileKind` lists the extensions it covers, the content
type stored for each, and the byte signatures its files start with. :func:`detect_type`
checks the first :data:`HEAD_SIZE` bytes of an upload against the kind its extension
declares, so an executable renamed ``quote.pdf`` is refused; programs and scripts are
refused whatever their extension. An extension the table does not know is taken only
when the field's ``accept`` list names it, stored as ``application/octet-stream``.

Known limits (the head is all that is read): zip-based formats (docx, xlsx, pptx, ofd,
zip) share one signature, as do the legacy OLE formats (doc, xls, ppt, and msi
installers), so a .docx renamed .xlsx passes; text is checked on its head only.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from engine.definitions.model import I18nText
from engine.fields.file_messages import file_failure

#: bytes read before the content is judged (the signatures all sit in the first few)
HEAD_SIZE = 8 * 1024
#: stored for an extension the table does not know: a browser downloads it, never runs it
UNKNOWN_CONTENT_TYPE = "application/octet-stream"

#: a signature: every (offset, bytes) pair must match
Signature = tuple[tuple[int, bytes], ...]


@dataclass(frozen=True)
class FileKind:
    """A family of file formats told apart by their leading bytes."""

    label: I18nText
    #: extension -> content type stored for it
    content_types: MappingProxyType[str, str]
    signatures: tuple[Signature, ...] = ()
    #: instead of signatures: a test on the head (``final``: the head is the whole file)
    test: Callable[[bytes, bool], bool] | None = None

    def matches(self, head: bytes, final: bool) -> bool:
        if self.test is not None:
            return self.test(head, final)
        return any(_matches(head, signature) for signature in self.signatures)


def _matches(head: bytes, signature: Signature) -> bool:
    return all(head[offset : offset + len(part)] == part for offset, part in signature)


def _prefix(*parts: bytes) -> tuple[Signature, ...]:
    return tuple(((0, part),) for part in parts)


_TEXT_ENCODINGS = ("utf-8-sig", "gb18030")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def is_plain_text(head: bytes, final: bool) -> bool:
    """Text in UTF-8 or GB18030 without NUL bytes, or UTF-16 with its byte-order mark.

    ``final`` False means ``head`` may end inside a character, which is not an error.
    """
    if head.startswith(_UTF16_BOMS):  # Excel's "Unicode text" export
        return _decodes(head, "utf-16", final)
    if b"\x00" in head:
        return False
    return any(_decodes(head, encoding, final) for encoding in _TEXT_ENCODINGS)


def _decodes(head: bytes, encoding: str, final: bool) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(head, final)
    except UnicodeDecodeError:
        return False
    return True


def _kind(zh: str, en: str, types: dict[str, str], *signatures: Signature) -> FileKind:
    return FileKind(I18nText(zh, en), MappingProxyType(types), signatures)


_ZIP = _prefix(b"PK\x03\x04", b"PK\x05\x06")
_OPENXML = "application/vnd.openxmlformats-officedocument."

KINDS: tuple[FileKind, ...] = (
    _kind("PDF 文档", "a PDF document", {"pdf": "application/pdf"}, *_prefix(b"%PDF-")),
    _kind("PNG 图片", "a PNG image", {"png": "image/png"}, *_prefix(b"\x89PNG\r\n\x1a\n")),
    _kind(
        "JPEG 图片",
        "a JPEG image",
        {"jpg": "image/jpeg", "jpeg": "image/jpeg", "jpe": "image/jpeg"},
        *_prefix(b"\xff\xd8\xff"),
    ),
    _kind("GIF 图片", "a GIF image", {"gif": "image/gif"}, *_prefix(b"GIF87a", b"GIF89a")),
    _kind("WebP 图片", "a WebP image", {"webp": "image/webp"}, ((0, b"RIFF"), (8, b"WEBP"))),
    _kind(
        "HEIC 图片",
        "a HEIC image",
        {"heic": "image/heic", "heif": "image/heif"},
        *(((4, b"ftyp"), (8, brand)) for brand in (b"heic", b"heix", b"mif1", b"msf1", b"hevc")),
    ),
    _kind(
        "TIFF 图片",
        "a TIFF image",
        {"tif": "image/tiff", "tiff": "image/tiff"},
        *_prefix(b"II*\x00", b"MM\x00*"),
    ),
    _kind(
        "ZIP 压缩包或 Office 文档",
        "a ZIP archive or Office document",
        {
            "zip": "application/zip",
            "docx": _OPENXML + "wordprocessingml.document",
            "xlsx": _OPENXML + "spreadsheetml.sheet",
            "pptx": _OPENXML + "presentationml.presentation",
            "ofd": "application/ofd",  # China's e-invoice format (GB/T 33190)
            "odt": "application/vnd.oasis.opendocument.text",
            "ods": "application/vnd.oasis.opendocument.spreadsheet",
        },
        *_ZIP,
    ),
    _kind(
        "旧版 Office 文档",
        "a legacy Office document",
        {
            "doc": "application/msword",
            "xls": "application/vnd.ms-excel",
            "ppt": "application/vnd.ms-powerpoint",
        },
        *_prefix(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
    ),
    _kind("RAR 压缩包", "a RAR archive", {"rar": "application/vnd.rar"}, *_prefix(b"Rar!\x1a\x07")),
    _kind(
        "7z 压缩包",
        "a 7z archive",
        {"7z": "application/x-7z-compressed"},
        *_prefix(b"7z\xbc\xaf\x27\x1c"),
    ),
    _kind("gzip 压缩包", "a gzip archive", {"gz": "application/gzip"}, *_prefix(b"\x1f\x8b")),
    FileKind(
        I18nText("纯文本", "plain text"),
        MappingProxyType(
            {
                "txt": "text/plain",
                "csv": "text/csv",
                "tsv": "text/tab-separated-values",
                "md": "text/markdown",
                "json": "application/json",
                "xml": "application/xml",
            }
        ),
        test=is_plain_text,
    ),
)

#: programs and scripts: refused whatever the file is called
PROGRAMS: tuple[FileKind, ...] = (
    _kind("Windows 可执行程序", "a Windows program", {}, *_prefix(b"MZ")),
    _kind("Linux 可执行程序", "a Linux program", {}, *_prefix(b"\x7fELF")),
    _kind(
        "macOS 可执行程序或 Java 类文件",
        "a macOS program or Java class",
        {},
        *_prefix(
            b"\xfe\xed\xfa\xce",
            b"\xfe\xed\xfa\xcf",
            b"\xce\xfa\xed\xfe",
            b"\xcf\xfa\xed\xfe",
            b"\xca\xfe\xba\xbe",
        ),
    ),
    _kind("脚本", "a script", {}, *_prefix(b"#!")),
    _kind("Android 程序", "an Android program", {}, *_prefix(b"dex\n")),
    _kind("WebAssembly 程序", "a WebAssembly program", {}, *_prefix(b"\x00asm")),
)

_BY_EXTENSION = MappingProxyType(
    {extension: kind for kind in KINDS for extension in kind.content_types}
)
_EMPTY = I18nText("空文件", "an empty file")
_UNRECOGNISED = I18nText("无法识别的格式", "an unrecognised format")


def known_extensions() -> tuple[str, ...]:
    """Every extension whose content the table can check, sorted."""
    return tuple(sorted(_BY_EXTENSION))


def detect_type(
    filename: str, extension: str, head: bytes, accepted: tuple[str, ...], *, final: bool
) -> str:
    """The content type to store for an upload, from its first bytes; FieldValueError if refused.

    ``head`` is the first :data:`HEAD_SIZE` bytes (fewer when ``final``: the whole file).
    Refused with code ``file_type``: a program or script under any name, content that
    is not what the extension declares (the message names what it looks like), and an
    extension the table does not know unless ``accepted`` names it.
    """
    program = _first_match(PROGRAMS, head, final)
    if program is not None:
        raise file_failure("type_program", name=filename, detected=program.label)
    kind = _BY_EXTENSION.get(extension)
    if kind is None:
        if extension and extension in accepted:
            return UNKNOWN_CONTENT_TYPE
        key = "type_unknown" if extension else "type_no_extension"
        raise file_failure(key, name=filename, extension=extension)
    if kind.matches(head, final):
        return kind.content_types[extension]
    raise file_failure(
        "type_mismatch", name=filename, declared=kind.label, detected=describe(head, final)
    )


def describe(head: bytes, final: bool) -> I18nText:
    """What the leading bytes look like, for a message ("a PNG image", "an empty file")."""
    if final and not head:
        return _EMPTY
    kind = _first_match(KINDS, head, final)
    return _UNRECOGNISED if kind is None else kind.label


def _first_match(kinds: tuple[FileKind, ...], head: bytes, final: bool) -> FileKind | None:
    return next((kind for kind in kinds if kind.matches(head, final)), None)
