"""Publishing a form version: alter the form's tables to match it, in one transaction.

New field -> ADD COLUMN; removed field -> column kept and marked hidden (re-adding the
field brings its data back); label or layout change -> no DDL; type change -> checked
conversion (see :mod:`engine.store.migration`), the old column kept under a retired name
``<column>__v<n>``. The DDL and the ``form_versions`` row share one transaction, so a
failure leaves the previous version in place on both databases.

Indexes (``FormTables.indexes``, by name) follow the definition: the list sort, the list
filters and ``index: true`` fields get theirs (``form_tables.list_indexes``), a removed
one is dropped. A new index on a table that already holds rows is a plain CREATE INDEX:
PostgreSQL's CREATE INDEX CONCURRENTLY cannot run inside the publishing transaction, so
writes to that form wait while it is built (a few seconds for 1,000,000 rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.definitions.model import DEFINITION_FORMAT_VERSION, FormDefinition, to_data
from engine.definitions.naming import form_table_name
from engine.errors import MigrationError
from engine.store.definition_data import stored_form
from engine.store.engine_tables import form_columns, form_versions
from engine.store.form_tables import FormTables, build_form_tables
from engine.store.migration import (
    MANAGED_INDEX_PREFIXES,
    ColumnState,
    MigrationPlan,
    field_layout,
    index_names,
    load_column_states,
    plan_form_change,
    spec_data,
)
from engine.store.unique_keys import backfill_keys


@dataclass(frozen=True)
class PublishedVersion:
    """The outcome of a publish; ``changed`` is False when the same content was already live."""

    app: str
    form: str
    version_no: int
    content_hash: str
    published_at: datetime
    published_by: str
    changed: bool
    plan: MigrationPlan | None = None
    #: what the service's data check found: rules of this version that existing records
    #: break (``engine.service.data_checks.RuleFailure``), reported as warnings
    data_check: tuple[Any, ...] = ()


@dataclass(frozen=True)
class StoredVersion:
    """A row of ``form_versions`` with its definition rebuilt."""

    version_no: int
    content_hash: str
    definition: FormDefinition
    published_at: datetime
    published_by: str


def latest_version(conn: sa.Connection, app: str, form: str) -> StoredVersion | None:
    """The currently published version of a form, or None before the first publish."""
    row = (
        conn.execute(
            sa.select(form_versions)
            .where(form_versions.c.app == app, form_versions.c.form == form)
            .order_by(form_versions.c.version_no.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return StoredVersion(
        row["version_no"],
        row["content_hash"],
        stored_form(
            row["definition"],
            row["format_version"],
            where=f"{app}.{form} version {row['version_no']}",
        ),
        row["published_at"],
        row["published_by"],
    )


def dry_run(conn: sa.Connection, app: str, form: FormDefinition) -> MigrationPlan:
    """The plan publishing ``form`` would follow, computed without changing anything."""
    latest = latest_version(conn, app, form.key)
    return plan_form_change(
        conn,
        app,
        form,
        latest.definition if latest else None,
        latest.version_no if latest else None,
    )


def _refuse_table_clash(conn: sa.Connection, app: str, form_key: str) -> None:
    """Refuse a new form whose table name another app's form already has.

    Keys may contain single underscores, so app ``a_b`` form ``c`` and app ``a`` form
    ``b_c`` both name ``f_a_b_c``; the loader cannot see other apps, the install can.
    """
    table = form_table_name(app, form_key)
    owners = conn.execute(sa.select(form_versions.c.app, form_versions.c.form).distinct())
    for other_app, other_form in owners:
        if (other_app, other_form) != (app, form_key) and form_table_name(
            other_app, other_form
        ) == table:
            raise MigrationError(
                f"form {app}.{form_key} would use the table {table}, which belongs to "
                f"{other_app}.{other_form}: choose another app or form key"
            )


def publish_form(
    conn: sa.Connection,
    app: str,
    form: FormDefinition,
    *,
    actor_id: str,
    now: datetime,
    allow_blank: bool = False,
) -> PublishedVersion:
    """Make ``form`` the published version, altering tables; call inside a write transaction.

    Values that would not convert to a changed field type refuse the publish with a
    :class:`MigrationError` listing them, unless ``allow_blank`` (they become blank; the
    old values stay in the retired column).
    """
    latest = latest_version(conn, app, form.key)
    if latest is not None and latest.content_hash == form.content_hash:
        # Same content, no new version; but indexes a newer engine declares for it (the
        # unique index of serial columns) are created now, so an upgrade gets them too.
        _add_missing_indexes(conn, app, form)
        return PublishedVersion(
            app,
            form.key,
            latest.version_no,
            latest.content_hash,
            latest.published_at,
            latest.published_by,
            changed=False,
        )
    previous = latest.definition if latest else None
    if latest is None:
        _refuse_table_clash(conn, app, form.key)
    plan = plan_form_change(conn, app, form, previous, latest.version_no if latest else None)
    if not plan.ok and not allow_blank:
        raise MigrationError(plan.describe_problems())
    new_tables = build_form_tables(app, form)
    old_tables = build_form_tables(app, previous) if previous else None
    _apply(conn, plan, new_tables, old_tables)
    conn.execute(
        form_versions.insert().values(
            app=app,
            form=form.key,
            version_no=plan.to_version,
            content_hash=form.content_hash,
            definition=to_data(form),
            format_version=DEFINITION_FORMAT_VERSION,
            published_at=now,
            published_by=actor_id,
        )
    )
    return PublishedVersion(
        app, form.key, plan.to_version, form.content_hash, now, actor_id, changed=True, plan=plan
    )


def _apply(
    conn: sa.Connection, plan: MigrationPlan, new: FormTables, old: FormTables | None
) -> None:
    states = load_column_states(conn, plan.app, plan.form)
    desired = {
        (table, name): (path, spec_data(spec))
        for path, (table, fc) in field_layout(new).items()
        for name, spec in zip(fc.names, fc.specs, strict=True)
    }
    # a new column for a storage change, and for a hidden column brought back as another
    # type (same storage): the old values stay in the retired column
    new_column = {(c.table, c.field) for c in plan.changed if c.columns_changed}
    retire = {
        key
        for key, (path, spec) in desired.items()
        if key in states and (dict(states[key].spec) != spec or (key[0], path) in new_column)
    }
    old_indexes = {i.name: i for i in old.indexes} if old else {}
    new_indexes = {i.name: i for i in new.indexes}
    # The database says which indexes exist: one an older engine made (a serial's plain
    # index) is dropped, and one this engine declares for an unchanged field is created.
    existing = index_names(
        conn, [t.name for t in new.all_tables() if t.name not in plan.new_tables]
    )
    managed = {name for name in existing if name.startswith(MANAGED_INDEX_PREFIXES)}
    dropped = {name for name in managed if name not in new_indexes}
    dropped |= {
        name
        for name, i in old_indexes.items()
        if name in managed and any((i.table, c) in retire for c in i.columns)
    }
    quote = conn.dialect.identifier_preparer.quote
    for name in sorted(dropped):
        conn.exec_driver_sql(f"DROP INDEX {quote(name)}")
    for table in new.all_tables():
        if table.name in plan.new_tables:
            table.create(conn)
    for table_name, column in sorted(retire):
        retired = f"{column}__v{plan.to_version}"
        conn.exec_driver_sql(
            f"ALTER TABLE {quote(table_name)} RENAME COLUMN {quote(column)} TO {quote(retired)}"
        )
        old_state = states.pop((table_name, column))
        _set_state(conn, plan, old_state, column=retired, state="retired")
    for table_name, column in desired:
        if (table_name, column) in states or table_name in plan.new_tables:
            continue
        col_type = new.table_named(table_name).c[column].type.compile(dialect=conn.dialect)
        conn.exec_driver_sql(
            f"ALTER TABLE {quote(table_name)} ADD COLUMN {quote(column)} {col_type}"
        )
    for (table_name, _path), rows in plan.conversions.items():
        _write_conversions(conn, new.table_named(table_name), rows)
    _record_columns(conn, plan, states, desired)
    # normalized unique rules: key columns added and computed before their indexes
    backfill_keys(conn, new, old.form if old else None, plan.new_tables)
    for name, index in new_indexes.items():
        if name not in existing or name in dropped:
            table = new.table_named(index.table)
            _create_index(
                conn, plan.app, plan.form, index, table, table.name not in plan.new_tables
            )


def _add_missing_indexes(conn: sa.Connection, app: str, form: FormDefinition) -> None:
    """Create the indexes the published form declares that its tables lack."""
    tables = build_form_tables(app, form)
    existing = index_names(conn, [t.name for t in tables.all_tables()])
    for index in tables.indexes:
        if index.name not in existing:
            _create_index(conn, app, form.key, index, tables.table_named(index.table), True)


def _refuse_duplicates(
    conn: sa.Connection, app: str, form: str, index: Any, table: sa.Table
) -> None:
    """MigrationError naming the live records that repeat the new unique index's values.

    Checked before CREATE INDEX so the person publishing learns which records to fix
    (a failed CREATE on PostgreSQL would also abort the transaction).
    """
    cols = [table.c[c] for c in index.columns]
    live = sa.and_(table.c.deleted_at.is_(None), *(c.is_not(None) for c in cols))
    if getattr(index, "where", None):  # a normalized rule's statuses (unique_key_tables)
        live = sa.and_(live, sa.text(index.where))
    groups = conn.execute(
        sa.select(*cols, sa.func.count().label("n"))
        .where(live)
        .group_by(*cols)
        .having(sa.func.count() > 1)
        .order_by(*cols)
        .limit(MAX_LISTED_DUPLICATES + 1)
    ).all()
    if not groups:
        return
    listed = []
    for group in groups[:MAX_LISTED_DUPLICATES]:
        values = tuple(group[: len(cols)])
        same = sa.and_(live, *(c == v for c, v in zip(cols, values, strict=True)))
        ids = conn.scalars(
            sa.select(table.c.id).where(same).order_by(table.c.id).limit(MAX_LISTED_RECORDS)
        ).all()
        shown = ", ".join(f"#{i}" for i in ids) + (", ..." if group.n > len(ids) else "")
        value = values[0] if len(values) == 1 else values
        listed.append(f"{value!r} in {group.n} records ({shown})")
    more = "; and more" if len(groups) > MAX_LISTED_DUPLICATES else ""
    what = getattr(index, "label", None) or ", ".join(index.columns)
    raise MigrationError(
        f"form {app}.{form}: existing records repeat the values of "
        f"{what}, which must be unique: {'; '.join(listed)}{more}. "
        "Change or delete the duplicates, then publish again"
    )


def _write_conversions(
    conn: sa.Connection, table: sa.Table, rows: list[tuple[int, dict[str, Any]]]
) -> None:
    if not rows:
        return
    columns = list(rows[0][1])
    stmt = (
        table.update()
        .where(table.c.id == sa.bindparam("_row_id"))
        .values({c: sa.bindparam(f"_v_{c}", type_=table.c[c].type) for c in columns})
    )
    conn.execute(
        stmt,
        [{"_row_id": rid, **{f"_v_{c}": v for c, v in values.items()}} for rid, values in rows],
    )


def _record_columns(
    conn: sa.Connection,
    plan: MigrationPlan,
    states: dict[tuple[str, str], ColumnState],
    desired: dict[tuple[str, str], tuple[str, dict[str, Any]]],
) -> None:
    for (table_name, column), (path, spec) in desired.items():
        state = states.get((table_name, column))
        if state is None:
            conn.execute(
                form_columns.insert().values(
                    app=plan.app,
                    form=plan.form,
                    table_name=table_name,
                    column=column,
                    field_key=path,
                    kind=spec["kind"],
                    spec=spec,
                    state="active",
                    since_version=plan.to_version,
                )
            )
        elif state.state != "active":
            _set_state(conn, plan, state, state="active")
    for key, state in states.items():
        if key not in desired and state.state == "active":
            _set_state(conn, plan, state, state="hidden")


def _set_state(
    conn: sa.Connection,
    plan: MigrationPlan,
    current: ColumnState,
    *,
    column: str | None = None,
    **values: Any,
) -> None:
    new_values = dict(values)
    if column is not None:
        new_values["column"] = column
    new_values["since_version"] = plan.to_version
    conn.execute(
        form_columns.update()
        .where(
            form_columns.c.app == plan.app,
            form_columns.c.form == plan.form,
            form_columns.c.table_name == current.table,
            form_columns.c.column == current.column,
        )
        .values(**new_values)
    )


#: repeated values a refused unique index lists (each with a few of its records)
MAX_LISTED_DUPLICATES = 10
MAX_LISTED_RECORDS = 5


def _create_index(
    conn: sa.Connection, app: str, form: str, index: Any, table: sa.Table, has_rows: bool
) -> None:
    if index.unique and has_rows:
        _refuse_duplicates(conn, app, form, index, table)
    try:
        index.build(table).create(conn)
    except sa.exc.IntegrityError as exc:
        raise MigrationError(
            f"form {app}.{form}: existing records repeat the values of "
            f"{', '.join(index.columns)}, so the new unique rule cannot be enforced; make those "
            f"records unique first ({exc.orig})"
        ) from exc
