"""The store indexes what a form's list view sorts and filters by, on both databases.

Installing makes the indexes of the list sort, the list filters and ``index: true``
fields (partial over live rows, ending with the id tie-breaker); a publish that changes
them adds and drops them, and its dry run lists both; the database's plan for the list
query walks the index with no sort step; the total of a page stays exact while it is
kept between pages.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from engine.definitions import load_app_text
from engine.service import SYSTEM_ACTOR
from engine.store.form_tables import build_form_tables

TICKETS = """
app: desk
version: 1.0.0
name: Desk
---
form: ticket
title: "{{ subject }}"
fields:
  subject: {type: text, index: true}
  amount: money
  priority: {type: select, options: [low, high]}
  due: date
list:
  sort: [-amount]
  filters: [priority, amount, status]
"""
TABLE = "f_desk_ticket"


def live_indexes(service, table: str = TABLE) -> dict[str, list[str]]:
    """The engine's list indexes on ``table``: name -> columns."""
    with service._database.engine.connect() as conn:
        found = sa.inspect(conn).get_indexes(table)
    return {i["name"]: i["column_names"] for i in found if "__" in i["name"]}


def install(service, text: str = TICKETS):
    return service.install_app(SYSTEM_ACTOR, load_app_text(text))


def test_install_makes_the_list_indexes(make_service):
    service = make_service()
    install(service)
    assert live_indexes(service) == {
        f"ix_{TABLE}__amount__id": ["amount", "id"],  # the sort (-amount) and a filter
        f"ix_{TABLE}__priority__id": ["priority", "id"],
        f"ix_{TABLE}__status__id": ["status", "id"],
        f"ix_{TABLE}__subject__id": ["subject", "id"],  # index: true
    }


def test_the_indexes_cover_live_rows_only(make_service):
    service = make_service()
    install(service)
    engine = service._database.engine
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = conn.exec_driver_sql(
                "select sql from sqlite_master where name = ?", (f"ix_{TABLE}__amount__id",)
            ).scalar_one()
        else:
            sql = conn.exec_driver_sql(
                "select indexdef from pg_indexes where indexname = %s",
                (f"ix_{TABLE}__amount__id",),
            ).scalar_one()
    assert "deleted_at IS NULL" in sql


def test_a_publish_adds_and_drops_them_and_its_dry_run_lists_them(make_service):
    service = make_service()
    install(service)
    changed = TICKETS.replace("version: 1.0.0", "version: 1.1.0")
    changed = changed.replace("subject: {type: text, index: true}", "subject: text")
    changed = changed.replace("sort: [-amount]", "sort: [priority, -due]")
    changed = changed.replace("filters: [priority, amount, status]", "filters: [due]")
    form = load_app_text(changed).form("ticket")
    plan = service.plan_form_change(SYSTEM_ACTOR, "desk", form)
    assert plan.indexes_added == [
        f"ix_{TABLE}__due__id",
        f"ix_{TABLE}__priority__due_desc__id_desc",
    ]
    assert plan.indexes_dropped == [
        f"ix_{TABLE}__amount__id",
        f"ix_{TABLE}__priority__id",
        f"ix_{TABLE}__status__id",
        f"ix_{TABLE}__subject__id",
    ]
    install(service, changed)
    assert live_indexes(service) == {
        f"ix_{TABLE}__due__id": ["due", "id"],
        f"ix_{TABLE}__priority__due_desc__id_desc": ["priority", "due", "id"],
    }
    again = service.plan_form_change(SYSTEM_ACTOR, "desk", form)
    assert (again.indexes_added, again.indexes_dropped) == ([], [])


def test_long_names_fit_postgresql_identifiers(make_service):
    app_key, form_key, field = "a" * 20, "f" * 30, "x" * 30
    text = f"""
app: {app_key}
version: 1.0.0
name: Long
---
form: {form_key}
fields:
  {field}: {{type: number, index: true}}
  other: {{type: number, index: true}}
list:
  sort: [{field}]
"""
    service = make_service()
    install(service, text)
    form = load_app_text(text).form(form_key)
    declared = {i.name: i for i in build_form_tables(app_key, form).indexes}
    table = f"f_{app_key}_{form_key}"
    with service._database.engine.connect() as conn:
        found = {i["name"]: i["column_names"] for i in sa.inspect(conn).get_indexes(table)}
    assert set(declared) <= set(found)
    assert all(len(name) <= 63 for name in declared)
    # the sort and `index: true` on the same field share one index; `other` has its own
    assert sorted(found[n] for n, i in declared.items() if i.live) == [
        ["other", "id"],
        [field, "id"],
    ]
    # installing the same again finds them all by name (nothing to add or drop)
    plan = service.plan_form_change(SYSTEM_ACTOR, app_key, form)
    assert (plan.indexes_added, plan.indexes_dropped) == ([], [])


def _statements_of(service, action) -> list[tuple[str, object]]:
    """The SQL the store runs during ``action``, with its parameters."""
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    engine = service._database.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return seen


def _tickets(service, count: int) -> None:
    for n in range(count):
        service.create_record(
            SYSTEM_ACTOR,
            "desk",
            "ticket",
            {"subject": f"T{n}", "amount": str(n * 10), "priority": ("low", "high")[n % 2]},
        )


def test_the_list_query_walks_the_sort_index_without_a_sort_step(make_service):
    service = make_service()
    install(service)
    _tickets(service, 120)
    statements = _statements_of(
        service,
        lambda: service.query_records(
            SYSTEM_ACTOR, "desk", "ticket", filters=[("amount", "ge", "300")], page=2, page_size=10
        ),
    )
    sql, params = next(
        (s, p) for s, p in statements if "ORDER BY" in s and f"FROM {TABLE}" in s.replace('"', "")
    )
    engine = service._database.engine
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = " | ".join(
                row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
            )
            assert f"USING INDEX ix_{TABLE}__amount__id" in plan
            assert "TEMP B-TREE" not in plan  # no sort step
        else:
            conn.exec_driver_sql(f"ANALYZE {TABLE}")
            # a table this small would be read whole; what matters is that the index
            # can give the rows in the list's order
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql("SET enable_bitmapscan = off")
            (document,) = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", params).one()
            text = json.dumps(document)
            assert f'"Index Name": "ix_{TABLE}__amount__id"' in text
            assert '"Node Type": "Sort"' not in text
            assert '"Node Type": "Incremental Sort"' not in text


@pytest.fixture
def tickets(make_service):
    service = make_service()
    install(service)
    _tickets(service, 30)
    return service


def _total(service, **query) -> int:
    page = service.query_records(SYSTEM_ACTOR, "desk", "ticket", page_size=5, **query)
    return page.total


def test_a_kept_total_is_counted_again_after_any_write(tickets, make_service):
    high = [("priority", "eq", "high")]
    assert _total(tickets, filters=high) == 15
    again = _statements_of(tickets, lambda: _total(tickets, filters=high, page=2))
    assert not [sql for sql, _ in again if "count(" in sql.lower()]  # kept, not counted
    assert _total(tickets, filters=high) == 15
    # a write through another service (its own connections, as another process)
    other = make_service()
    other.create_record(SYSTEM_ACTOR, "desk", "ticket", {"subject": "new", "priority": "high"})
    assert _total(tickets, filters=high) == 16
    # a write of this service itself
    created = tickets.create_record(SYSTEM_ACTOR, "desk", "ticket", {"priority": "high"})
    assert _total(tickets, filters=high) == 17
    tickets.delete_record(SYSTEM_ACTOR, "desk", "ticket", created.id)
    assert _total(tickets, filters=high) == 16
    other.update_record(SYSTEM_ACTOR, "desk", "ticket", 2, {"priority": "low"})
    assert _total(tickets, filters=high) == 15
    # other values of the same filter have their own totals
    assert _total(tickets, filters=[("priority", "eq", "low")]) == 16
    assert _total(tickets) == 31
