"""The hidden key columns of normalized unique rules and their index conditions.

A normalized unique rule (docs/uniqueness.md) stores its key in a column ``uk__<hash>``
of the form table (the hash is of the rule's content, so a changed rule gets a fresh,
backfilled column). The key is NULL while the record does not count; a partial unique
index over live rows holds the keys, and a ``where`` on the system ``status`` becomes
part of that index's condition, so an approval flow moving the status releases the key
without rewriting it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engine.definitions.model import FormDefinition, UniqueConstraint
from engine.definitions.normalizers import KEY_LENGTH


def key_columns(form: FormDefinition) -> list[sa.Column[Any]]:
    """One nullable text column per normalized unique rule of ``form``."""
    names = dict.fromkeys(rule.key_column for rule in form.unique if rule.keyed)
    return [sa.Column(name, sa.String(KEY_LENGTH), nullable=True) for name in names]


def status_values(rule: UniqueConstraint) -> tuple[str, ...] | None:
    """The statuses a record must be in to count, or None when any status counts."""
    for name, allowed in rule.where:
        if name == "status":
            return allowed
    return None


def status_condition(rule: UniqueConstraint) -> str | None:
    """``status IN ('a', 'b')`` for the partial index, or None."""
    allowed = status_values(rule)
    if allowed is None:
        return None
    quoted = ", ".join("'" + value.replace("'", "''") + "'" for value in allowed)
    return f"status IN ({quoted})"
