"""service.reports driven with hostile arguments: each call succeeds or raises an engine
error (one line a person can read), never a driver error, on SQLite and PostgreSQL.

Filter values and drill points come from URLs and the API, so they reach the store
with whatever a client sends: nested lists, dicts, huge ints, NUL, lone surrogates.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli.demo import EXAMPLES, PRODUCTS, SUPPLIERS
from engine.errors import (
    DefinitionErrors,
    InvalidArgumentError,
    RecordValidationError,
    ServiceError,
)
from engine.org.org_file import read_org_file
from engine.service import SYSTEM_ACTOR, Actor, load_app

ADMIN = Actor("admin", locale="en")
ENGINE_ERRORS = (ServiceError, RecordValidationError, DefinitionErrors)
BOTH_ENGINES = pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**63, -(2**63) - 1, 10**30, 1.5, float("nan"), "\x00", "\ud800", "x" * 5000]),
    st.text(max_size=30),
    st.sampled_from(["2026-13", "..", "2026-02-30..2026-03-01", "this_month", "2026-Q5", "'--"]),
)
HOSTILE = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=6,
)
DIMENSIONS = {
    "by_department": "department",
    "spend_by_month": "needed_by:month",
    "top_suppliers": "supplier",
    "status_funnel": "status",
    "department_quarter": "needed_by:quarter",
    "recent": "record",
}


@pytest.fixture
def purchase(make_service, clock):
    """The purchase example with its dashboard and two requests."""
    clock.set(2026, 3, 2, 9, 0)
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_file(EXAMPLES / "org.yaml"))
    roles = {"purchasing": "sales_ops", "finance": "payables"}
    service.install_app(ADMIN, load_app(EXAMPLES / "purchase_request"), role_map=roles)
    supplier = service.create_record(ADMIN, "purchase", "supplier", SUPPLIERS[0])
    product = service.create_record(ADMIN, "purchase", "product", PRODUCTS[0])
    for day in ("2026-03-05", "2026-03-06"):
        data = {
            "supplier": supplier.id,
            "needed_by": day,
            "lines": [{"product": product.id, "qty": 2}],
        }
        service.create_record(Actor("ma.lan"), "purchase", "purchase_request", data)
    return service


def _engine_error_only(call: Any, *args: Any, **kwargs: Any) -> None:
    try:
        call(*args, **kwargs)
    except ENGINE_ERRORS as exc:
        text = str(exc)
        assert "\n" not in text and "SELECT" not in text and "Traceback" not in text


@BOTH_ENGINES
def test_hostile_filters_and_points_raise_engine_errors_only(purchase) -> None:
    reports = purchase.reports

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        widget=st.sampled_from(sorted(DIMENSIONS)),
        filter_key=st.sampled_from(["period", "department", "supplier", "nope"]),
        value=HOSTILE,
        wrap=st.sampled_from(["plain", "others", "reached", "whole"]),
    )
    def run(widget: str, filter_key: str, value: Any, wrap: str) -> None:
        _engine_error_only(
            reports.run, ADMIN, "purchase", "purchasing", filters={filter_key: value}
        )
        dim = DIMENSIONS[widget]
        point = {
            "plain": {dim: value},
            "others": {"others": {dim: value}},
            "reached": {"reached": {dim: value}},
            "whole": value,
        }[wrap]
        _engine_error_only(reports.drill, ADMIN, "purchase", "purchasing", widget, point)

    run()


@BOTH_ENGINES
def test_hostile_keys_and_pages_are_refused_by_name(purchase) -> None:
    reports = purchase.reports
    for bad in (None, 1.5, 2**70, "x" * 5000, "\x00", [], {}, True):
        for call in (
            lambda b: reports.run(ADMIN, "purchase", b),
            lambda b: reports.run(ADMIN, b, "purchasing"),
            lambda b: reports.run(ADMIN, "purchase", "purchasing", widgets=b),
            lambda b: reports.run(ADMIN, "purchase", "purchasing", page=b),
            lambda b: reports.run(ADMIN, "purchase", "purchasing", filters=b),
            lambda b: reports.drill(ADMIN, "purchase", "purchasing", "recent", {}, page_size=b),
            lambda b: reports.dashboards(ADMIN, b),
        ):
            _engine_error_only(call, bad)
    with pytest.raises(InvalidArgumentError, match="filters.department"):
        reports.run(ADMIN, "purchase", "purchasing", filters={"department": "a\x00b"})
    with pytest.raises(InvalidArgumentError, match="status"):
        reports.drill(ADMIN, "purchase", "purchasing", "status_funnel", {"status": 7})
    # and a good call still answers: 2 requests of 2 × 19.99
    totals = reports.run(ADMIN, "purchase", "purchasing", widgets=["by_department"]).widgets[0]
    assert totals.totals is not None and str(totals.totals[0]) == "79.96"
