"""Identifier rules shared by the loader (which checks them) and the store (which uses them).

Field, form and app keys become SQL identifiers, so they are checked at load time:
lower-case snake case without ``__`` (the separator of sub-table tables), not a reserved
system column, each within its length limit, and the derived table names within
PostgreSQL's 63-byte limit (MAX_TABLE_NAME).
"""

from __future__ import annotations

import re

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_APP_KEY = 20
MAX_FORM_KEY = 30
MAX_FIELD_KEY = 30
#: PostgreSQL truncates identifiers longer than this (NAMEDATALEN - 1)
MAX_TABLE_NAME = 63

#: columns every form table has; a field may not use these keys
SYSTEM_COLUMNS = frozenset(
    {
        "id",
        "status",
        "version",
        "title",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "deleted_at",
        "parent_id",
        "row_index",
    }
)


def form_table_name(app_key: str, form_key: str) -> str:
    """The real table of a form: ``f_<app>_<form>`` (readable by any SQL or BI tool)."""
    return f"f_{app_key}_{form_key}"


def subtable_table_name(app_key: str, form_key: str, subtable_key: str) -> str:
    """The child table of a sub-table: ``f_<app>_<form>__<subtable>``."""
    return f"{form_table_name(app_key, form_key)}__{subtable_key}"
