"""Job documents: loaded into values, checked at load with located errors, the published
schema file in step with the code, periods read."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

import engine.service  # noqa: F401  (installs the field types)
from engine.definitions.job_schema import job_schema
from engine.definitions.jobs import Aggregate, job_from_source, parse_period
from engine.definitions.loader import check_app_text, load_app, load_app_text
from engine.definitions.schema import render
from tests.batch_jobs.conftest import APP

ROOT = Path(__file__).resolve().parents[2]
#: the job document of APP, replaced by the variants below
JOB_START = APP.index("job: quarterly_statement")
#: lines before the job document (errors are counted from the job's first line here)
JOB_LINE = APP[:JOB_START].count("\n")


def with_job(job: str) -> str:
    return APP[:JOB_START] + job


def errors_of(job: str) -> list[str]:
    return [f"{e.line - JOB_LINE}:{e.path}: {e.message}" for e in check_app_text(with_job(job))]


def test_the_job_loads_into_a_value_and_rebuilds_from_its_source():
    [job] = load_app_text(APP).jobs
    assert (job.key, job.period, job.source_form, job.date_field) == (
        "quarterly_statement",
        "quarter",
        "order",
        "order_date",
    )
    assert job.group_by == ("dealer",)
    assert dict(job.values) == {"basis": Aggregate("SUM", "amount"), "orders": Aggregate("COUNT")}
    assert job.match == ("dealer", "period")
    assert job.where == "state == 'approved'"
    assert job.label("en") == "Quarterly statement"
    assert job_from_source(job.source) == job


BASE = """job: j
period: month
source: {form: order, date: order_date}
group_by: [dealer]
values: {basis: "SUM(amount)"}
output:
  form: statement
  values: {dealer: "dealer", period: "period", basis: "basis"}
"""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("form: order,", "form: ordr,"), "3:source.form: the app has no form 'ordr'"),
        (
            ("date: order_date", "date: dealer"),
            "3:source.date: field 'dealer' is a text field, not a date",
        ),
        (("date: order_date", "date: day"), "3:source.date: form 'order' has no field 'day'"),
        (("[dealer]", "[dealr]"), "4:group_by[0]: form 'order' has no field 'dealr'"),
        (
            ("SUM(amount)", "SUM(dealer)"),
            "5:values.basis: SUM needs a number field; 'dealer' is a text field",
        ),
        (("SUM(amount)", "TOTAL(amount)"), "5:values.basis: 'TOTAL(amount)' is not an aggregate"),
        (("SUM(amount)", "SUM(amt)"), "5:values.basis: form 'order' has no field 'amt'"),
        (
            ('basis: "basis"}', 'basis: "basis", bonus: "1"}'),
            "8:output.values.bonus: form 'statement' has no field 'bonus'",
        ),
        (
            ('basis: "basis"}', 'basis: "basis * rate"}'),
            "8:output.values.basis: unknown field 'rate'",
        ),
        (
            ("form: statement", "form: order"),
            "7:output.form: a job writes to another form than the one it reads",
        ),
        (("period: month", "period: week"), "2:period: "),
    ],
)
def test_mistakes_are_reported_at_their_line(change, expected):
    found = errors_of(BASE.replace(*change))
    assert any(e.startswith(expected) for e in found), found


def test_where_must_be_a_condition_the_database_applies():
    job = BASE.replace("date: order_date}", 'date: order_date, where: "amount * 2 > 10"}')
    [error] = errors_of(job)
    assert error.startswith("3:source.where: ")
    assert "the left side of a comparison in a job's where is a field" in error


def test_match_needs_a_value_and_files_name_the_job_twice():
    job = BASE.replace("  form: statement\n", "  form: statement\n  match: [rebate]\n")
    assert errors_of(job) == [
        "8:output.match[0]: match field 'rebate' has no value in output.values"
    ]


def test_the_published_schema_file_matches_the_code():
    committed = (ROOT / "docs" / "schema" / "job.schema.json").read_text(encoding="utf-8")
    assert committed == render(job_schema()), (
        "docs/schema/job.schema.json is out of date: "
        "python -m engine.definitions.job_schema docs/schema"
    )


@pytest.mark.parametrize(
    ("kind", "text", "start", "end"),
    [
        ("month", "2026-09", date(2026, 9, 1), date(2026, 9, 30)),
        ("month", "2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("quarter", "2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
        ("quarter", "2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
        ("year", "2026", date(2026, 1, 1), date(2026, 12, 31)),
    ],
)
def test_periods_are_read(kind, text, start, end):
    period = parse_period(kind, text)
    assert period is not None
    assert (period.text, period.start, period.end) == (text, start, end)


@pytest.mark.parametrize(
    ("kind", "text"),
    [("quarter", "2026-Q5"), ("quarter", "2026-09"), ("month", "2026-13"), ("year", "26")],
)
def test_bad_periods_are_none(kind, text):
    assert parse_period(kind, text) is None


def test_the_docs_example_loads():
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- example job app -->\n```yaml\n(.*?)```", text, re.S)
    assert block is not None
    [job] = load_app_text(block.group(1)).jobs
    assert (job.key, job.period, job.group_by) == ("quarterly_statement", "quarter", ("dealer",))
    assert dict(job.values)["biggest"] == Aggregate("MAX", "amount")


def test_the_purchase_example_sums_requests_per_department_and_month():
    [job] = load_app(ROOT / "examples" / "purchase_request").jobs
    assert (job.key, job.period, job.source_form, job.date_field) == (
        "monthly_spend",
        "month",
        "purchase_request",
        "created_at",
    )
    assert (job.group_by, job.output_form, job.where) == (
        ("department",),
        "monthly_spend",
        "status == 'approved'",
    )
