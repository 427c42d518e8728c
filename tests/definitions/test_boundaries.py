"""engine.definitions is pure: importing all of it loads neither SQLAlchemy nor Flask."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_import_neither_sqlalchemy_nor_flask():
    code = (
        "import pkgutil, importlib, sys, engine.definitions as d\n"
        "for m in pkgutil.walk_packages(d.__path__, 'engine.definitions.'):\n"
        "    importlib.import_module(m.name)\n"
        "d.load_app_text\n"
        "print(sorted(n for n in ('sqlalchemy', 'flask') if n in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
