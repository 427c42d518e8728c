"""The report cache across workers, and SQLite and PostgreSQL giving the same results.

Two Service objects on one database stand for two worker processes: each keeps its own
result cache, keyed by a marker of the data (the newest revision of each form a widget
reads), so a write through one worker is seen by the other at once, and an identical
run with nothing written is answered from the cache without a query.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

import engine.store.reports as store_reports
from engine.service import Service
from tests.conftest import SHANGHAI, Clock, fresh_database_url
from tests.reports import reference as ref
from tests.reports.conftest import ADMIN, DEALER_A, Order, insert_order, install_shop


def _count_grouped(monkeypatch) -> list[int]:
    calls = [0]
    real = store_reports.grouped

    def spy(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(store_reports, "grouped", spy)
    return calls


def test_a_write_through_another_worker_moves_the_figures(fresh_shop, make_service, monkeypatch):
    shop = fresh_shop
    worker_a = shop.service
    worker_b = make_service()
    calls = _count_grouped(monkeypatch)

    first = worker_a.reports.run(ADMIN, "shop", "sales", widgets=["line_year", "by_region"])
    assert calls[0] == 4  # each widget: its groups and its totals
    year_2026 = [o for o in shop.orders if o.day.year == 2026]
    assert first.widgets[0].to_json()["rows"][1]["values"] == [
        str(len(year_2026)),
        ref.text(sum(o.money for o in year_2026 if o.money is not None)),
    ]

    # nothing written: the same run is served from worker A's cache, no query made
    again = worker_a.reports.run(ADMIN, "shop", "sales", widgets=["line_year", "by_region"])
    assert calls[0] == 4
    assert again.widgets[0] is first.widgets[0] and again.widgets[1] is first.widgets[1]

    # worker B writes an order; worker A sees it on its next run (the data marker moved)
    extra = Order("O14", "B", "east_sales", "0.01", None, 1, "2026-05-05", None, "new")
    insert_order(worker_b, extra, shop.dealer_ids, shop.product_ids)
    after = worker_a.reports.run(ADMIN, "shop", "sales", widgets=["line_year", "by_region"])
    assert calls[0] == 8
    year = after.widgets[0].to_json()["rows"][1]["values"]
    expected_sum = sum((o.money for o in year_2026 if o.money is not None), Decimal("0.01"))
    assert year == [str(len(year_2026) + 1), ref.text(expected_sum)]
    south = {r["labels"][0]: r["values"][0] for r in after.widgets[1].to_json()["rows"]}
    assert Decimal(south["South"]) == Decimal(
        {r["labels"][0]: r["values"][0] for r in first.widgets[1].to_json()["rows"]}["South"]
    ) + Decimal("0.01")

    # worker B's own cache had nothing; it computes the same figures
    from_b = worker_b.reports.run(ADMIN, "shop", "sales", widgets=["line_year", "by_region"])
    assert [w.to_json() for w in from_b.widgets] == [w.to_json() for w in after.widgets]


def test_cache_is_per_scope_and_per_filter(fresh_shop, monkeypatch):
    shop = fresh_shop
    calls = _count_grouped(monkeypatch)
    admin = shop.widget("top9")
    dealer = shop.widget("top9", DEALER_A)
    assert admin["rows"] != dealer["rows"]  # not the admin's result from the cache
    filtered = shop.widget("top9", period="2026-04-01..2026-04-30")
    assert filtered["totals"] != admin["totals"]
    made = calls[0]
    assert shop.widget("top9", DEALER_A) == dealer and calls[0] == made
    shop.service.reports.cache.clear()
    assert shop.widget("top9", DEALER_A) == dealer and calls[0] > made


@pytest.mark.postgres
def test_sqlite_and_postgresql_give_identical_json(request, tmp_path):
    results = []
    for engine in ("sqlite", "postgresql"):
        with fresh_database_url(request, tmp_path, engine) as url:
            clock = Clock(datetime(2026, 4, 15, 10, 0, tzinfo=SHANGHAI))
            service = Service(url, clock=clock, files_dir=tmp_path / engine)
            try:
                service.init_database()
                install_shop(service, clock)
                runs = []
                for actor in (ADMIN, DEALER_A):
                    for filters in (None, {"period": "this_year", "dept": "east_sales"}):
                        result = service.reports.run(actor, "shop", "sales", filters=filters)
                        runs.append(result.to_json())
                    for page in (2, 3):
                        result = service.reports.run(
                            actor, "shop", "sales", widgets=["table"], page=page
                        )
                        runs.append(result.to_json())
                drills = [
                    service.reports.drill(ADMIN, "shop", "sales", widget, point).rows
                    for widget, point in (
                        (
                            "pivot",
                            {"dealer.region": "east", "dealer": 1, "order_date:quarter": "2026-Q2"},
                        ),
                        ("placed_day", {"placed_at:day": "2026-04-01"}),
                        ("top2", {"others": {"dealer": [1, 2]}}),
                    )
                ]
                results.append((runs, drills))
            finally:
                service.close()
    (sqlite_runs, sqlite_drills), (pg_runs, pg_drills) = results
    for mine, theirs in zip(sqlite_runs, pg_runs, strict=True):
        for a, b in zip(mine["widgets"], theirs["widgets"], strict=True):
            assert a == b, a["key"]
        assert mine == theirs
    assert sqlite_drills == pg_drills
    # and the figures are not empty by accident
    assert any(w["rows"] for w in sqlite_runs[0]["widgets"])


def test_updates_deletes_and_related_forms_move_the_marker(fresh_shop, make_service):
    shop = fresh_shop
    worker_a, worker_b = shop.service, make_service()
    keys = ["by_dealer_stage", "kpi_target", "line_year"]

    def run():
        result = worker_a.reports.run(ADMIN, "shop", "sales", widgets=keys)
        return {w.key: w.to_json() for w in result.widgets}

    before = run()
    assert before["by_dealer_stage"]["rows"][0]["labels"][0] == "Alpha"
    # a related record renamed through B: the relation's label in A follows
    worker_b.update_record(ADMIN, "shop", "dealer", shop.dealer_ids["A"], {"name": "Alpha Ltd"})
    renamed = run()
    assert renamed["by_dealer_stage"]["rows"][0]["labels"][0] == "Alpha Ltd"
    # a target changed through B: the KPI's target in A follows
    targets = worker_b.query_records(ADMIN, "shop", "monthly_target").items
    target_id = next(t.id for t in targets if t.values["amount"] == Decimal("1500.00"))
    worker_b.update_record(ADMIN, "shop", "monthly_target", target_id, {"amount": "1600.00"})
    assert Decimal(run()["kpi_target"]["kpi"]["target"]) == Decimal(
        before["kpi_target"]["kpi"]["target"]
    ) + Decimal("100.00")
    # an order deleted through B: the figures in A lose it
    gone = next(o for o in shop.orders if o.ref == "O13")
    worker_b.delete_record(ADMIN, "shop", "order", gone.id)
    rows = {r["labels"][0]: r["values"] for r in run()["line_year"]["rows"]}
    in_2026 = [o for o in shop.orders if o.day.year == 2026 and o is not gone]
    assert rows["2026"] == [str(len(in_2026)), ref.text(sum(o.money for o in in_2026 if o.money))]


def test_a_changed_dashboard_definition_is_not_served_from_the_cache(fresh_shop):
    from engine.definitions.loader import load_app_text
    from tests.reports.conftest import APP

    shop = fresh_shop
    service = shop.service
    before = shop.widget("top2")
    assert len(before["rows"]) == 3
    top2 = "  top2:\n    kind: ranking\n    source: order\n    dimensions: [dealer]\n"
    top2 += '    measures: {sales: "SUM(amount)"}\n    limit: '
    assert APP.count(top2 + "2\n") == 1
    changed = APP.replace("version: 1.0.0", "version: 1.0.1").replace(top2 + "2\n", top2 + "3\n")
    service.install_app(ADMIN, load_app_text(changed))
    after = shop.widget("top2")
    assert [r["kind"] for r in after["rows"]] == ["group", "group", "group", "others"]
