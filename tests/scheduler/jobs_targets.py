"""Jobs the scheduler tests submit by import path (``tests.scheduler.jobs_targets:...``)."""

from __future__ import annotations

from pathlib import Path


def append_line(payload: dict) -> None:
    """Append ``payload["line"]`` to the file ``payload["path"]``."""
    with Path(payload["path"]).open("a", encoding="utf-8") as out:
        out.write(payload["line"] + "\n")


def fail_until_file(payload: dict) -> None:
    """Fail while ``payload["path"]`` does not exist, then append a line to it."""
    path = Path(payload["path"])
    if not path.exists():
        raise RuntimeError(f"{path} is missing")
    append_line(payload)
