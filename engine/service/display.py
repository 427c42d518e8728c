"""Showing values as a person reads them (for the CLI, exports and pages)."""

from __future__ import annotations

from typing import Any

from engine.definitions.model import FormDefinition
from engine.fields import registry


def display_value(form: FormDefinition, field_key: str, value: Any) -> str:
    """``value`` of ``form``'s field as text for a person (money with separators...)."""
    field = form.field(field_key)
    return registry.get(field.type).display(field, value)
