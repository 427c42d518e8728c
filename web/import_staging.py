"""Uploads waiting between the steps of the import pages (upload -> mapping -> dry run ->
run), kept on the server, never in the cookie.

An upload is staged under ``<FILES_DIR>/.imports/<owner>/<token>.*``: the bytes
(``.upload``), the choices made so far and the dry run's report (``.json``) and the dry
run's failing rows as a workbook (``.errors.xlsx``). ``owner`` is a digest of the login,
so a token reaches only its own person's uploads (another person's token reads as not
found) and the session cookie carries nothing at all: the token is in the URL. Every
worker of a server sees the same files (the folder is the one uploads already share).
The dotted folder is outside what the file sweeps look at (they take ``<app>/<form>/``
files and ``.incoming/*.part``); staged uploads older than :data:`MAX_AGE` are removed
whenever someone stages a new one. Submitting the import proper moves the bytes into the
run (``service.imports.submit`` keeps them in ``transfer_runs``) and drops the stage.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: the folder of staged uploads inside FILES_DIR
STAGE_FOLDER = ".imports"
#: how long a staged upload is kept (a person who leaves the wizard leaves it behind)
MAX_AGE = 24 * 3600
#: what a token looks like (``secrets.token_urlsafe(18)``)
TOKEN = re.compile(r"^[A-Za-z0-9_-]{24}$")
_PARTS = (".upload", ".json", ".errors.xlsx")


@dataclass
class Staged:
    """One staged upload: where it goes, its file name and what was chosen so far."""

    token: str
    app: str
    form: str
    file_name: str
    created: float
    #: sheet, mapping (header -> target or None), mode, match, save_mapping
    options: dict[str, Any] = field(default_factory=dict)
    #: the dry run's ``ImportReport.to_json()``, once it ran in the request
    report: dict[str, Any] | None = None
    #: the id of a dry run handed to the job runner (large files)
    dry_run_id: int | None = None


class StagingArea:
    """The staged uploads of one person under one files folder."""

    def __init__(self, files_dir: str | os.PathLike[str], login: str):
        self.root = Path(files_dir) / STAGE_FOLDER
        owner = hashlib.sha256(login.encode("utf-8")).hexdigest()[:32]
        self.folder = self.root / owner

    def _path(self, token: str, part: str) -> Path:
        return self.folder / f"{token}{part}"

    def stage(self, app: str, form: str, file_name: str, data: bytes) -> Staged:
        """Keep ``data`` for the next steps; the new stage (its token is random)."""
        self.sweep()
        self.folder.mkdir(parents=True, exist_ok=True)
        staged = Staged(secrets.token_urlsafe(18), app, form, file_name, time.time())
        _write(self._path(staged.token, ".upload"), data)
        self.save(staged)
        return staged

    def save(self, staged: Staged) -> None:
        """Write the stage's choices and report."""
        text = json.dumps(asdict(staged), ensure_ascii=False, default=str)
        _write(self._path(staged.token, ".json"), text.encode("utf-8"))

    def get(self, token: str, app: str, form: str) -> Staged | None:
        """The person's stage of ``token`` for that form; None when there is none (a
        malformed token, another person's, expired, or of another form)."""
        if not TOKEN.match(token or ""):
            return None
        try:
            raw = json.loads(self._path(token, ".json").read_text("utf-8"))
            staged = Staged(**raw)
        except (OSError, ValueError, TypeError):
            return None
        if (staged.app, staged.form) != (app, form) or time.time() - staged.created > MAX_AGE:
            return None
        return staged

    def data(self, staged: Staged) -> bytes:
        """The staged bytes (FileNotFoundError when swept meanwhile)."""
        return self._path(staged.token, ".upload").read_bytes()

    def keep_errors(self, staged: Staged, workbook: bytes | None) -> None:
        """Keep (or drop, with None) the dry run's failing rows workbook."""
        path = self._path(staged.token, ".errors.xlsx")
        if workbook is None:
            path.unlink(missing_ok=True)
        else:
            _write(path, workbook)

    def errors(self, staged: Staged) -> bytes | None:
        """The dry run's failing rows workbook, if it had failing rows."""
        try:
            return self._path(staged.token, ".errors.xlsx").read_bytes()
        except FileNotFoundError:
            return None

    def drop(self, staged: Staged) -> None:
        """Forget a stage (its bytes went into a run)."""
        for part in _PARTS:
            self._path(staged.token, part).unlink(missing_ok=True)

    def sweep(self) -> None:
        """Remove everyone's stages older than :data:`MAX_AGE` (and emptied folders)."""
        if not self.root.is_dir():
            return
        cutoff = time.time() - MAX_AGE
        for folder in self.root.iterdir():
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                try:
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                except FileNotFoundError:  # another worker swept it
                    continue
            if folder != self.folder and not any(folder.iterdir()):
                shutil.rmtree(folder, ignore_errors=True)


def _write(path: Path, data: bytes) -> None:
    """Write ``data`` whole or not at all (another worker may read it meanwhile)."""
    part = path.with_name(path.name + f".{secrets.token_hex(4)}.part")
    part.write_bytes(data)
    os.replace(part, path)
