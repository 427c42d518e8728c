"""Running a declared batch job: grouped sums per period, dry run, idempotent re-runs,
a changed source row updating exactly one document, per-group failures, bad periods."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.errors import InvalidArgumentError, PermissionDeniedError
from engine.service import Actor
from tests.batch_jobs.conftest import ADMIN, BOTH_ENGINES, CLERK, SQLITE_ONLY

JOB = "quarterly_statement"


def statements(service) -> dict[str, dict]:
    page = service.query_records(ADMIN, "sales", "statement", page_size=100)
    return {
        r.values["dealer"]: {**r.values, "_version": r.version, "_id": r.id} for r in page.items
    }


@BOTH_ENGINES
def test_a_run_writes_one_statement_per_dealer_with_exact_sums(sales):
    run = sales.batch_jobs.run(ADMIN, "sales", JOB, "2026-Q3")
    assert (run.status, run.rows_read, run.groups_total, run.groups_done) == ("done", 9, 3, 3)
    assert (run.created, run.updated, run.unchanged, run.failed) == (3, 0, 0, 0)
    found = statements(sales)
    assert sorted(found) == ["D1", "D2", "D3"]
    assert found["D1"]["basis"] == Decimal("600.60")
    assert found["D2"]["basis"] == Decimal("3001.00")
    assert found["D3"]["basis"] == Decimal("60.05")
    assert [found[d]["orders"] for d in ("D1", "D2", "D3")] == [3, 3, 3]
    assert found["D1"]["rebate"] == Decimal("12.01")
    assert found["D2"]["rebate"] == Decimal("60.02")
    assert found["D3"]["rebate"] == Decimal("1.20")
    assert {f["period"] for f in found.values()} == {"2026-Q3"}
    assert str(found["D1"]["first_day"]) == "2026-07-01"
    record = sales.query_records(ADMIN, "sales", "statement").items[0]
    assert record.created_by == "job:quarterly_statement"
    assert [item["action"] for item in run.items] == ["created"] * 3


@BOTH_ENGINES
def test_a_dry_run_lists_the_plan_and_writes_nothing(sales):
    run = sales.batch_jobs.run(ADMIN, "sales", JOB, "2026-Q3", dry_run=True)
    assert run.dry_run is True
    assert (run.created, run.updated, run.unchanged, run.failed) == (3, 0, 0, 0)
    assert [(i["group"], i["action"]) for i in run.items] == [
        ({"dealer": "D1"}, "created"),
        ({"dealer": "D2"}, "created"),
        ({"dealer": "D3"}, "created"),
    ]
    assert run.items[1]["values"]["basis"] == Decimal("3001.00")
    assert sales.query_records(ADMIN, "sales", "statement").total == 0
    # a dry run after a real one sees what is already there
    sales.batch_jobs.run(ADMIN, "sales", JOB, "2026-Q3")
    again = sales.batch_jobs.run(ADMIN, "sales", JOB, "2026-Q3", dry_run=True)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


@BOTH_ENGINES
def test_a_rerun_changes_nothing_and_a_changed_order_updates_one_statement(sales):
    sales.batch_jobs.run(ADMIN, "sales", JOB, "2026-Q3")
    before = statements(sales)
    rerun = sales.batch_jobs.run(ADMIN, "sales", JOB, "2026-Q3")
    assert (rerun.created, rerun.updated, rerun.unchanged, rerun.failed) == (0, 0, 3, 0)
    assert statements(sales) == before
    order = next(
        r
        for r in sales.query_records(ADMIN, "sales", "order", page_size=100).items
        if r.values["dealer"] == "D2" and r.values["amount"] == Decimal("0.99")
    )
    sales.update_record(ADMIN, "sales", "order", order.id, {"amount": "1.99"})
    third = sales.batch_jobs.run(ADMIN, "sales", JOB, "2026-Q3")
    assert (third.created, third.updated, third.unchanged) == (0, 1, 2)
    after = statements(sales)
    assert after["D2"]["basis"] == Decimal("3002.00")
    assert after["D2"]["_version"] == before["D2"]["_version"] + 1
    assert after["D1"]["_version"] == before["D1"]["_version"]
    history = sales.record_history(ADMIN, "sales", "statement", after["D2"]["_id"])
    assert [(h.revision_no, h.action, h.actor) for h in history] == [
        (1, "created", "job:quarterly_statement"),
        (2, "updated", "job:quarterly_statement"),
    ]
    assert history[-1].changes["basis"] == {"old": "3001.00", "new": "3002.00"}


@BOTH_ENGINES
def test_a_group_failing_validation_is_recorded_and_the_others_are_written(sales):
    sales.create_record(
        ADMIN, "sales", "order", {"dealer": "D9", "amount": "60000", "order_date": "2026-08-08"}
    )
    run = sales.batch_jobs.run(ADMIN, "sales", JOB, "2026-Q3")
    assert (run.groups_total, run.groups_done) == (4, 4)
    assert (run.created, run.failed) == (3, 1)
    [failure] = run.failures
    assert failure["group"] == {"dealer": "D9"}
    assert "A rebate cannot exceed 1000" in failure["error"]
    assert sorted(statements(sales)) == ["D1", "D2", "D3"]
    stored = sales.batch_jobs.get_run(ADMIN, run.id)
    assert (stored.status, stored.failed, stored.failures) == ("done", 1, run.failures)


@BOTH_ENGINES
def test_a_deleted_statement_is_written_again_and_match_adopts_an_existing_one(sales):
    manual = sales.create_record(
        ADMIN,
        "sales",
        "statement",
        {"dealer": "D3", "period": "2026-Q3", "basis": "1", "rebate": "0"},
    )
    run = sales.batch_jobs.run(ADMIN, "sales", JOB, "2026-Q3")
    assert (run.created, run.updated) == (2, 1)
    assert statements(sales)["D3"]["_id"] == manual.id
    assert statements(sales)["D3"]["basis"] == Decimal("60.05")
    sales.delete_record(ADMIN, "sales", "statement", statements(sales)["D1"]["_id"])
    again = sales.batch_jobs.run(ADMIN, "sales", JOB, "2026-Q3")
    assert (again.created, again.updated, again.unchanged) == (1, 0, 2)


@SQLITE_ONLY
def test_other_periods_read_other_rows(sales):
    run = sales.batch_jobs.run(ADMIN, "sales", JOB, "2026-Q2")
    assert (run.rows_read, run.created) == (1, 1)
    assert statements(sales)["D1"]["basis"] == Decimal("5000.00")
    empty = sales.batch_jobs.run(ADMIN, "sales", JOB, "2025-Q1")
    assert (empty.rows_read, empty.groups_total, empty.status) == (0, 0, "done")


#: (period, locale, what the message says)
BAD_PERIODS = [
    ("2026-Q5", "en", "period: '2026-Q5' is not a valid quarter; job quarterly_statement"),
    ("2026-09", "en", "write it like 2026-Q3 (periods are written 2026-09 (month)"),
    ("2026-Q5", "zh-CN", "period：'2026-Q5' 不是有效的季度；作业 quarterly_statement 按季度运行"),
    (20263, "en", "period: 20263 is not a valid quarter"),
]


@SQLITE_ONLY
def test_a_bad_period_is_refused_with_the_forms_it_takes(sales):
    for period, locale, expected in BAD_PERIODS:
        with pytest.raises(InvalidArgumentError) as caught:
            sales.batch_jobs.run(Actor("admin", locale=locale), "sales", JOB, period)
        assert expected in str(caught.value)
        assert caught.value.argument == "period"
    assert sales.batch_jobs.runs(ADMIN, "sales") == []


@SQLITE_ONLY
def test_only_organisation_admins_run_jobs_and_unknown_jobs_are_named(sales):
    with pytest.raises(PermissionDeniedError, match="only an administrator"):
        sales.batch_jobs.run(CLERK, "sales", JOB, "2026-Q3")
    with pytest.raises(Exception, match="app sales has no batch job nope \\(jobs: quarterly"):
        sales.batch_jobs.run(ADMIN, "sales", "nope", "2026-Q3")
    with pytest.raises(InvalidArgumentError, match="dry_run"):
        sales.batch_jobs.run(ADMIN, "sales", JOB, "2026-Q3", dry_run="yes")
    [info] = sales.batch_jobs.list(ADMIN, "sales")
    assert (info.key, info.name, info.period, info.output_form) == (
        JOB,
        "Quarterly statement",
        "quarter",
        "statement",
    )


@BOTH_ENGINES
def test_a_submitted_run_goes_through_the_job_runner(sales):
    run_id = sales.batch_jobs.submit(ADMIN, "sales", JOB, "2026-Q3")
    queued = sales.batch_jobs.get_run(ADMIN, run_id)
    assert (queued.status, queued.groups_done) == ("queued", 0)
    assert sales.query_records(ADMIN, "sales", "statement").total == 0
    done = sales.jobs.run_due()
    assert len(done.finished) == 1
    finished = sales.batch_jobs.get_run(ADMIN, run_id)
    assert (finished.status, finished.created, finished.groups_done) == ("done", 3, 3)
    assert sales.query_records(ADMIN, "sales", "statement").total == 3
    assert [r.id for r in sales.batch_jobs.runs(ADMIN, "sales", JOB)] == [run_id]
