"""The message of a normalized unique rule: the author's template over the holder's fields.

A rule such as ``message: "该客户已被报备, 保护期至 {{ protect_end }}"`` is shown alone
(no record title appended, unlike a plain rule's message), so the author decides what of
the other record a person learns: CHANNEL_DOMAIN C12 shows the protection date and must
not name the other party.
"""

from __future__ import annotations

from typing import Any

from engine.definitions.model import UniqueConstraint
from engine.definitions.text_templates import TEXT_TEMPLATES
from engine.store.forms import StoredForm
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
