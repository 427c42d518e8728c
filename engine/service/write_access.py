"""What a write must respect besides the form's own rules: the actor's grants.

Called by the write path (engine/service/writer.py) in the write's transaction:
values for fields the actor may not write are refused with the field named
(:func:`refuse_locked`), organisation codes must exist (:func:`check_org_fields`), and
the written row must lie within the rows the action's grants cover
(:func:`require_in_scope`), else the write is refused and rolled back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine.errors import NotFoundError, PermissionDeniedError, RecordError, RecordValidationError
from engine.service.org_values import check_org_values
from engine.service.permissions import ACTION_NAMES_ZH
from engine.store.messages import message as catalogue

if TYPE_CHECKING:
    from engine.service.writer import WriteContext


def refuse_locked(
    ctx: WriteContext, action: str, data: Mapping[str, Any], existing: Mapping[str, Any] | None
) -> None:
    """Refuse values for fields the actor may not write (hidden or read-only for them).

    On create any non-blank value is refused; on update a value that differs from the
    stored one (a form that sends read-only fields back unchanged is fine).
    """
    if ctx.access is None or not isinstance(data, Mapping):
        return
    locked = ctx.access.readonly(ctx.runtime.definition, action)
    if not locked:
        return
    hidden = ctx.access.hidden(ctx.runtime.definition)
    errors = []
    for key in sorted(locked.intersection(k for k in data if isinstance(k, str))):
        value = data[key]
        if existing is None and value in (None, "", [], {}):
            continue
        if existing is not None and key not in hidden and existing.get(key) == value:
            continue
        access = "hidden" if key in hidden else "read-only"
        if not ctx.actor.locale.startswith("en"):
            access = "隐藏" if key in hidden else "只读"
        errors.append(
            RecordError(
                key, catalogue("record.field_locked", ctx.actor.locale, access=access), "locked"
            )
        )
    if errors:
        raise RecordValidationError(errors)


def check_org_fields(
    ctx: WriteContext, values: Mapping[str, Any], existing: Mapping[str, Any] | None
) -> None:
    errors = check_org_values(ctx.tx, ctx.runtime, values, existing, ctx.actor.locale)
    if errors:
        raise RecordValidationError(errors)


def require_in_scope(ctx: WriteContext, action: str, record_id: int) -> None:
    """The written row must lie within the rows the actor may ``action`` (else roll back)."""
    if ctx.access is None or ctx.access.rules(ctx.runtime.definition, action) is None:
        return
    try:
        ctx.scoped(action).row(record_id)
    except NotFoundError:
        word = action if ctx.actor.locale.startswith("en") else ACTION_NAMES_ZH.get(action, action)
        raise PermissionDeniedError(
            catalogue("record.out_of_scope", ctx.actor.locale, action=word)
        ) from None
