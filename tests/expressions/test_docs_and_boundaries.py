"""The docs stay true to the code, and the package stays pure."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import engine.expressions
from engine.expressions import FUNCTIONS, compile_expression
from engine.expressions.reference import EXAMPLE_VALUES, display, example_context, function_table

DOCS = Path(__file__).resolve().parents[2] / "docs" / "expressions.md"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_function_example_gives_its_documented_result(name):
    spec = FUNCTIONS[name]
    result = compile_expression(spec.example).evaluate(EXAMPLE_VALUES, example_context())
    assert display(result) == spec.result


def test_the_docs_contain_the_generated_function_table():
    assert function_table() in DOCS.read_text(encoding="utf-8"), (
        "regenerate it: python -m engine.expressions.reference"
    )


def test_the_package_imports_neither_sqlalchemy_nor_flask():
    modules = [
        name
        for _, name, _ in pkgutil.walk_packages(engine.expressions.__path__, "engine.expressions.")
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'flask'))\n"
        "print(','.join(bad))\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
    assert len(modules) >= 10
    for name in modules:
        importlib.import_module(name)
