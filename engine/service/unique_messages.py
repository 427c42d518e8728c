"""The message of a normalized unique rule: the author's template over the holder's fields.

A rule such as ``message: "该客户已被报备, 保护期至 {{ protect_end }}"`` is shown alone
(no record title appended, unlike a plain rule's message), so the author decides what of
the other record a person learns: CHANNEL_DOMAIN C12 shows the protection date and must
not name the other party.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.definitions.model import UniqueConstraint
from engine.definitions.text_templates import TEXT_TEMPLATES
from engine.errors import RecordError, RecordValidationError
from engine.store.forms import StoredForm
from engine.store.record_writes import unique_clashes
from engine.store.unique_keys import holder_values


def keyed_message(
    conn: Any, stored: StoredForm, rule: UniqueConstraint, record_id: int, locale: str
) -> str:
    """``rule.message`` in ``locale`` with the holding record's values in its placeholders."""
    assert rule.message is not None
    text = rule.message.get(locale)
    if "{" not in text:
        return text
    values = holder_values(conn, stored.tables, record_id)
    try:
        return TEXT_TEMPLATES.from_string(text).render(**values)
    except Exception:  # a template that fails at run time still refuses the duplicate
        return text


def _status_keyed(stored: StoredForm) -> bool:
    return any(
        check.rule.keyed and any(name == "status" for name, _ in check.rule.where)
        for check in stored.unique_checks
    )


def refuse_held_keys(
    conn: Any, stored: StoredForm, record_id: int, status: str, now: datetime, locale: str
) -> None:
    """Refuse to move a record into ``status`` when a normalized rule counts that status
    and another live record holds the same key: the rule's message, not the index's error.

    An approval flow moves the system status outside the record write path; a rule with
    ``where: {status: [...]}`` puts the status in its index condition, so entering a
    counting status is where a duplicate would be found.
    """
    if not _status_keyed(stored):
        return
    values = holder_values(conn, stored.tables, record_id)
    if not values:
        return
    clashes = [
        clash
        for clash in unique_clashes(conn, stored, values, record_id, status=status, now=now)
        if clash.check.rule.keyed
    ]
    errors = [
        RecordError(
            clash.check.rule.fields[0],
            keyed_message(conn, stored, clash.check.rule, clash.record_id, locale)
            if clash.check.rule.message is not None
            else f"#{clash.record_id}",
            "unique",
        )
        for clash in clashes
    ]
    if errors:
        raise RecordValidationError(errors)
