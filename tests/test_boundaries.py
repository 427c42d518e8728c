"""The layers of docs/internals.md, checked: pure packages import no database or web code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules_under(package: str) -> list[str]:
    folder = ROOT / package.replace(".", "/")
    names = []
    for path in sorted(folder.rglob("*.py")):
        relative = path.relative_to(ROOT).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts[-1] == "__main__":
            continue
        names.append(".".join(parts))
    return names


def _imported_after(modules: list[str]) -> set[str]:
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print('\\n'.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


@pytest.mark.parametrize("package", ["engine.definitions", "engine.expressions", "engine.fields"])
def test_pure_packages_import_neither_sqlalchemy_nor_flask(package: str) -> None:
    modules = _modules_under(package)
    assert modules, f"no modules found under {package}"
    imported = _imported_after(modules)
    assert "sqlalchemy" not in imported
    assert "flask" not in imported


def test_nothing_under_engine_imports_flask() -> None:
    imported = _imported_after(_modules_under("engine"))
    assert "engine" in imported
    assert "flask" not in imported
