"""Versioned migrations of the engine tables (Alembic, driven from code).

``upgrade_to_head(conn)`` runs on a connection that is already inside a transaction
(:meth:`engine.store.database.Database.write`), so the DDL of every pending revision and
the version row commit or roll back together, on SQLite and PostgreSQL. No
``alembic.ini`` is needed: the revisions live in ``versions/`` inside the installed
package and Alembic is pointed at them here.

The revision the database is at is kept in the table :data:`VERSION_TABLE`. A database
made before migrations existed (engine tables from ``metadata.create_all`` and an
``engine_schema`` row with version 1) is stamped at :data:`BASELINE`, the schema it
has, and upgraded from there, data kept. Form tables (``f_*``) are never touched:
:func:`include_name` keeps Alembic's comparisons to the engine tables.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from engine.errors import EngineSchemaError

#: where Alembic finds env.py and versions/ (inside the installed package)
SCRIPT_LOCATION = Path(__file__).resolve().parent
#: Alembic's version table; named for the engine so another Alembic user of the same
#: PostgreSQL schema keeps its own ``alembic_version``
VERSION_TABLE = "engine_alembic_version"
#: the revision that is the schema databases made before migrations have
BASELINE = "0001"
#: the pre-migration schema-version table (dropped by revision 0002)
LEGACY_TABLE = "engine_schema"
#: PostgreSQL transaction-level advisory lock key: concurrent ``init`` runs queue
UPGRADE_LOCK_KEY = 0x6C6F77636F6465  # "lowcode"
#: Alembic keeps the running migration's context in module globals (``alembic.op``,
#: ``alembic.context``): two upgrades in threads of one process must take turns
_ALEMBIC_LOCK = threading.Lock()


def alembic_config(conn: sa.Connection | None = None) -> Config:
    """An Alembic Config for the engine's revisions, optionally bound to ``conn``."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if conn is not None:
        config.attributes["connection"] = conn
    return config


def script_directory() -> ScriptDirectory:
    """The engine's revisions."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision this version of the engine knows."""
    head = script_directory().get_current_head()
    assert head is not None
    return head


def current_revision(conn: sa.Connection) -> str | None:
    """The revision the database is at; None when it has no version table (yet)."""
    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def needs_upgrade(conn: sa.Connection) -> bool:
    """Whether the engine tables are missing or behind this engine (``lowcode init`` due)."""
    return current_revision(conn) != head_revision()


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's filter: only the engine's own tables are compared or migrated."""
    if type_ == "table":
        from engine.store.engine_tables import metadata

        return name in metadata.tables
    return True


def upgrade_to_head(conn: sa.Connection) -> str:
    """Run every pending revision on ``conn`` (inside its transaction); the new revision.

    Raises :class:`EngineSchemaError` when the database is at a revision this engine
    does not know (it was upgraded by a newer engine) or has engine tables without any
    schema version.
    """
    if conn.dialect.name == "postgresql":
        # two processes running init on a fresh database would both create the tables
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(UPGRADE_LOCK_KEY)))
    # SQLite: the write transaction (BEGIN IMMEDIATE) already serialises initialisers
    with _ALEMBIC_LOCK:
        return _upgrade(conn)


def _upgrade(conn: sa.Connection) -> str:
    config = alembic_config(conn)
    script = ScriptDirectory.from_config(config)
    current = current_revision(conn)
    if current is None:
        if _legacy_version(conn) == 1:
            command.stamp(config, BASELINE)
        elif sa.inspect(conn).has_table("apps"):
            raise EngineSchemaError(
                f"the database has engine tables but neither a {VERSION_TABLE} table nor an "
                f"{LEGACY_TABLE} row with version 1, so their schema is unknown; restore it "
                "from a backup or initialise an empty database"
            )
    elif current not in {rev.revision for rev in script.walk_revisions()}:
        raise EngineSchemaError(
            f"the database's engine tables are at revision {current}, which this version of "
            f"the engine does not know (its newest is {script.get_current_head()}): it was "
            "upgraded by a newer engine; run that version"
        )
    command.upgrade(config, "head")
    revision = current_revision(conn)
    assert revision is not None
    return revision


def _legacy_version(conn: sa.Connection) -> int | None:
    """The ``engine_schema`` version of a database made before migrations, if any."""
    if not sa.inspect(conn).has_table(LEGACY_TABLE):
        return None
    legacy = sa.table(LEGACY_TABLE, sa.column("component"), sa.column("version"))
    return conn.execute(
        sa.select(legacy.c.version).where(legacy.c.component == "engine")
    ).scalar_one_or_none()
