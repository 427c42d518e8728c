"""Helpers for definition tests: a one-file app is an app header plus form documents."""

from __future__ import annotations

import textwrap

import pytest

import engine.fields  # noqa: F401  (installs the field types the loader checks against)
from engine.definitions.loader import check_app_text

#: the app document of one-file test apps; form documents start on line 5
APP_HEADER = "app: shop\nversion: 1.0.0\nname: Shop\n---\n"


def one_file_app(forms: str) -> str:
    """The app header followed by ``forms`` (dedented), as one multi-document YAML text."""
    return APP_HEADER + textwrap.dedent(forms).lstrip("\n")


@pytest.fixture
def problems():
    """``problems(forms_yaml)`` -> every error of the app as ``str(error)`` lines."""

    def run(forms: str) -> list[str]:
        return [str(e) for e in check_app_text(one_file_app(forms))]

    return run
