"""The layers of docs/internals.md, checked.

Two kinds of check: what importing a package pulls in (in a fresh interpreter, so
transitive imports count), and what each module imports directly (read from its source,
so a module cannot lean on an import that happens to be there already).
"""

from __future__ import annotations

import ast
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
    """Every module loaded after importing ``modules`` in a fresh interpreter."""
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def _direct_imports(package: str) -> dict[str, set[str]]:
    """Module file -> the modules it imports itself (``from x import y`` counts as x and x.y)."""
    out: dict[str, set[str]] = {}
    for path in sorted((ROOT / package.replace(".", "/")).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        out[str(path.relative_to(ROOT))] = names
    return out


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


UPPER_LAYERS = ("engine.store", "engine.runtime", "engine.service", "engine.cli", "web")


@pytest.mark.parametrize("package", ["engine.definitions", "engine.expressions"])
def test_definitions_and_expressions_import_nothing_above_them(package: str) -> None:
    imported = _imported_after(_modules_under(package))
    assert not {m for m in imported if _within(m, UPPER_LAYERS)}
    # the field types build on definitions, not the other way round
    assert not {m for m in imported if _within(m, ("engine.fields",))}
    assert not {m for m in imported if _within(m, ("sqlalchemy", "flask"))}


def test_field_types_import_neither_the_loader_nor_anything_above_them() -> None:
    imported = _imported_after(_modules_under("engine.fields"))
    assert "engine.definitions.loader" not in imported
    assert not {m for m in imported if _within(m, UPPER_LAYERS)}
    assert not {m for m in imported if _within(m, ("sqlalchemy", "flask"))}


def test_the_organisation_package_is_pure() -> None:
    """engine.org (principal, passwords, tokens, organisation files) has no SQL and no web."""
    imported = _imported_after(_modules_under("engine.org"))
    assert not {m for m in imported if _within(m, UPPER_LAYERS)}
    assert not {m for m in imported if _within(m, ("sqlalchemy", "flask"))}


def test_the_runtime_has_no_sql_and_no_web() -> None:
    imported = _imported_after(_modules_under("engine.runtime"))
    layers = ("engine.store", "engine.service", "engine.cli", "web")
    assert not {m for m in imported if _within(m, layers)}
    assert not {m for m in imported if _within(m, ("sqlalchemy", "flask"))}


def test_the_store_imports_neither_runtime_nor_service() -> None:
    imported = _imported_after(_modules_under("engine.store"))
    layers = ("engine.runtime", "engine.service", "engine.cli", "web")
    assert not {m for m in imported if _within(m, layers)}


def test_the_service_builds_no_sql_and_keeps_out_of_the_driver() -> None:
    for module, names in _direct_imports("engine.service").items():
        assert not {n for n in names if _within(n, ("sqlalchemy",))}, module
        assert not {n for n in names if _within(n, ("engine.store.driver",))}, module


@pytest.mark.parametrize("package", ["engine.cli", "web", "templates_lib"])
def test_outer_packages_use_only_the_service_facade(package: str) -> None:
    allowed = ("engine.service", "engine.cli")
    for module, names in _direct_imports(package).items():
        engine_imports = {n for n in names if _within(n, ("engine",)) and n != "engine"}
        assert {n for n in engine_imports if not _within(n, allowed)} == set(), module
        assert not {n for n in names if _within(n, ("sqlalchemy", "flask_sqlalchemy"))}, module


def test_nothing_under_engine_imports_flask() -> None:
    imported = _imported_after(_modules_under("engine"))
    assert "engine" in imported
    assert not {m for m in imported if _within(m, ("flask",))}
