"""Declared batch jobs as immutable values: a grouped query over a form, per period,
whose groups create or update documents of another form.

A job document (``jobs/<name>.yaml``) holds one job. See docs/rules.md ("Batch jobs")
for the language; in short::

    job: quarterly_statement
    name: {zh-CN: 季度对账单, en: Quarterly statement}
    period: quarter                    # month | quarter | year
    source:
      form: order
      date: order_date                 # a date/datetime field (or created_at/updated_at)
      where: "status == 'approved'"    # optional; a condition the database applies
    group_by: [dealer]
    values:                            # aggregates per group
      basis: "SUM(amount)"
      orders: "COUNT()"
    output:
      form: statement
      match: [dealer, period]          # output fields that find a document not yet linked
      values:                          # formulas over group fields, aggregate names,
        dealer: "dealer"               #   period, period_start, period_end
        period: "period"
        bonus: "ROUND(basis * 0.02, 2)"

Periods are written ``2026-09`` (month), ``2026-Q3`` (quarter) and ``2026`` (year):
:func:`parse_period` reads them.

Pure code: no database, no web.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from engine.definitions.model import I18nText, content_hash, frozen_mapping

PERIOD_KINDS = ("month", "quarter", "year")
#: how each kind of period is written, for messages
PERIOD_FORMS = {"month": "2026-09", "quarter": "2026-Q3", "year": "2026"}
AGGREGATE_FUNCTIONS = ("SUM", "COUNT", "MIN", "MAX", "AVG")
#: functions that need a number field (COUNT counts anything, MIN/MAX also dates)
NUMBER_AGGREGATES = ("SUM", "AVG")
#: system columns a job may take its period from
SYSTEM_DATE_COLUMNS = ("created_at", "updated_at")
#: the names every output formula may use besides group fields and aggregates
PERIOD_NAMES = ("period", "period_start", "period_end")

_AGGREGATE = re.compile(r"^\s*([A-Za-z]+)\s*\(\s*([A-Za-z_]\w*)?\s*\)\s*$")
_PERIOD_TEXT = {
    "month": re.compile(r"^(\d{4})-(\d{2})$"),
    "quarter": re.compile(r"^(\d{4})-Q([1-4])$"),
    "year": re.compile(r"^(\d{4})$"),
}


@dataclass(frozen=True)
class Aggregate:
    """One aggregate of a group: ``SUM(amount)`` is (SUM, amount); ``COUNT()`` counts rows."""

    function: str
    field: str | None = None


@dataclass(frozen=True)
class Period:
    """One period of a job: its text (``2026-Q3``) and its first and last day."""

    text: str
    start: date
    end: date


@dataclass(frozen=True)
class JobDefinition:
    """A batch job: where it reads, how it groups and aggregates, what it writes."""

    key: str
    period: str
    source_form: str
    date_field: str
    group_by: tuple[str, ...]
    values: Mapping[str, Aggregate]
    output_form: str
    output_values: Mapping[str, str]
    match: tuple[str, ...] = ()
    where: str | None = None
    name: I18nText | None = None
    description: I18nText | None = None
    source_file: str | None = field(default=None, compare=False, repr=False)
    line: int = field(default=0, compare=False)
    #: what the job was built from, to store it and build it again in another process
    #: (engine/store/app_rules.py ``jobs``): {"data", "file", "line"}
    source: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def content_hash(self) -> str:
        """SHA-256 of the job's canonical content (locations excluded)."""
        return content_hash(self)

    def label(self, locale: str = "zh-CN") -> str:
        """The job's name in ``locale``, or its key."""
        return self.name.get(locale) if self.name else self.key

    @property
    def where_written(self) -> str:
        """``jobs/statement.yaml:1``: where the job is written."""
        return f"{self.source_file or '?'}:{self.line}"


def parse_aggregate(text: Any) -> Aggregate | None:
    """``SUM(amount)`` -> Aggregate("SUM", "amount"); None when it is no aggregate."""
    if not isinstance(text, str):
        return None
    found = _AGGREGATE.match(text)
    if found is None or found.group(1).upper() not in AGGREGATE_FUNCTIONS:
        return None
    return Aggregate(found.group(1).upper(), found.group(2))


def parse_period(kind: str, text: Any) -> Period | None:
    """The period ``text`` names for a job of ``kind`` (month/quarter/year), or None."""
    pattern = _PERIOD_TEXT.get(kind)
    if pattern is None or not isinstance(text, str):
        return None
    found = pattern.match(text.strip())
    if found is None:
        return None
    year = int(found.group(1))
    if year < 1900 or year > 9999:
        return None
    if kind == "year":
        return Period(text.strip(), date(year, 1, 1), date(year, 12, 31))
    number = int(found.group(2))
    first_month = number if kind == "month" else 3 * number - 2
    if not 1 <= first_month <= 12:
        return None
    months = 1 if kind == "month" else 3
    start = date(year, first_month, 1)
    following = first_month + months
    after = date(year + 1, 1, 1) if following > 12 else date(year, following, 1)
    return Period(text.strip(), start, after - timedelta(days=1))


def job_from_data(
    data: Mapping[str, Any], source_file: str | None = None, line: int = 0
) -> JobDefinition:
    """A :class:`JobDefinition` from a checked job document."""
    source = data["source"]
    output = data["output"]
    aggregates = {}
    for name, text in (data.get("values") or {}).items():
        aggregate = parse_aggregate(text)
        if aggregate is None:
            raise ValueError(f"not an aggregate: {text!r}")
        aggregates[name] = aggregate
    return JobDefinition(
        key=data["job"],
        period=data["period"],
        source_form=source["form"],
        date_field=source["date"],
        where=source.get("where"),
        group_by=tuple(data.get("group_by") or ()),
        values=frozen_mapping(aggregates),
        output_form=output["form"],
        output_values=frozen_mapping(output["values"]),
        match=tuple(output.get("match") or ()),
        name=I18nText.of(data.get("name")),
        description=I18nText.of(data.get("description")),
        source_file=source_file,
        line=line,
        source={"data": _plain(data), "file": source_file, "line": line},
    )


def job_from_source(source: Mapping[str, Any]) -> JobDefinition:
    """A job built again from its stored ``source`` (JobDefinition.source)."""
    return job_from_data(source["data"], source.get("file"), source.get("line", 0))


def _plain(value: Any) -> Any:
    """The document as plain JSON data (mappings and lists of text, numbers, booleans)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


__all__ = [
    "AGGREGATE_FUNCTIONS",
    "NUMBER_AGGREGATES",
    "PERIOD_FORMS",
    "PERIOD_KINDS",
    "PERIOD_NAMES",
    "SYSTEM_DATE_COLUMNS",
    "Aggregate",
    "JobDefinition",
    "Period",
    "job_from_data",
    "job_from_source",
    "parse_aggregate",
    "parse_period",
]
