"""Who may see which rows: the one place the actor becomes a row scope.

Every read of form rows goes through the store's record source with the scope made
here. Until the organisation and permissions issue, every actor sees every live row;
that issue returns narrower :class:`~engine.store.records.RowScope` values from here.
"""

from __future__ import annotations

from engine.service.actor import Actor
from engine.store.records import ALL_ROWS, RowScope


def row_scope(actor: Actor, app: str, form: str) -> RowScope:
    """The rows of ``app.form`` that ``actor`` may read (today: all of them)."""
    return ALL_ROWS
