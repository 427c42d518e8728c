"""Fixtures for field-type tests: a factory for field definitions written like YAML."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.definitions.model import FieldDefinition, I18nText, frozen_mapping


def build_field(type_name: str, key: str = "f", **options: Any) -> FieldDefinition:
    """A field as the loader would build it from ``{type: <type_name>, **options}``."""
    children = options.pop("fields", ())
    return FieldDefinition(
        key=key,
        type=type_name,
        label=I18nText.of(key),
        options=frozen_mapping(options),
        fields=tuple(children),
    )


@pytest.fixture
def make_field() -> Callable[..., FieldDefinition]:
    return build_field
