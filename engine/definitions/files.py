"""Read the files of an app (a folder or one multi-document file) with size limits.

Limits keep a mistaken or hostile upload from exhausting memory: a definition file is
text written by people, far below 1 MB, and an app of more than 500 files is a mistake.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from engine.definitions.source import file_error
from engine.errors import DefinitionError

MAX_FILE_BYTES = 1024 * 1024
MAX_FILES = 500
APP_FILE_NAMES = ("app.yaml", "app.yml")
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class SourceFile:
    """The text of one definition file; ``name`` is relative to the app folder."""

    name: str
    text: str


def read_app_files(
    path: str | Path, folders: Iterable[str]
) -> tuple[list[SourceFile], list[DefinitionError]]:
    """The app file first, then each kind's folder in order (files sorted by name).

    ``path`` is an app folder or a single YAML file. ``folders`` are the sub-folders that
    hold definition files (``forms``...), from the table of kinds.
    """
    root = Path(path)
    if root.is_file():
        return _read_all([(root, root.name)])
    if not root.is_dir():
        return [], [file_error(str(path), "no such app folder or file", "check the path")]
    app_file = next((root / n for n in APP_FILE_NAMES if (root / n).is_file()), None)
    if app_file is None:
        return [], [
            file_error("app.yaml", "the app folder has no app.yaml", "create app.yaml with app:")
        ]
    wanted = [(app_file, app_file.name)]
    for folder in folders:
        directory = root / folder
        if directory.is_dir():
            files = sorted(p for p in directory.iterdir() if p.suffix in YAML_SUFFIXES)
            wanted.extend((p, f"{folder}/{p.name}") for p in files if p.is_file())
    if len(wanted) > MAX_FILES:
        message = f"the app has {len(wanted)} definition files; at most {MAX_FILES} are allowed"
        return [], [file_error(app_file.name, message, "split it into several apps")]
    return _read_all(wanted)


def _read_all(wanted: list[tuple[Path, str]]) -> tuple[list[SourceFile], list[DefinitionError]]:
    files: list[SourceFile] = []
    errors: list[DefinitionError] = []
    for file_path, name in wanted:
        size = file_path.stat().st_size
        if size > MAX_FILE_BYTES:
            errors.append(too_large(name, size))
            continue
        decoded = decode(file_path.read_bytes(), name)
        if isinstance(decoded, DefinitionError):
            errors.append(decoded)
        else:
            files.append(SourceFile(name, decoded))
    return files, errors


def too_large(name: str, size: int) -> DefinitionError:
    """The error for a file over :data:`MAX_FILE_BYTES`."""
    return file_error(
        name,
        f"the file has {size / 1024 / 1024:.1f} MB; a definition file may have at most 1 MB",
        "split it into smaller files",
    )


def decode(content: bytes, name: str) -> str | DefinitionError:
    """UTF-8 text (a leading BOM is dropped), or an error naming the first bad byte's line."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        column = exc.start - (content.rfind(b"\n", 0, exc.start) + 1) + 1
        return file_error(
            name, "the file is not UTF-8 text", "save it with the UTF-8 encoding", line, column
        )
