"""A drilled point and the form's list with the drill's ``where`` texts list the same
records (the web's "open in the list" link), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from engine.service.filter_text import read_filter
from tests.service.test_report_arguments import ADMIN, BOTH_ENGINES, purchase  # noqa: F401

POINTS = [
    ("by_department", {"department": "channel"}),
    ("department_quarter", {"department": "channel", "needed_by:quarter": "2026-Q1"}),
    ("spend_by_month", {"needed_by:month": "2026-03"}),
    ("status_funnel", {"reached": {"status": ["in_approval"]}}),
]


@BOTH_ENGINES
@pytest.mark.parametrize(("widget", "point"), POINTS)
def test_drill_and_list_agree(purchase, widget, point) -> None:  # noqa: F811
    drilled = purchase.reports.drill(ADMIN, "purchase", "purchasing", widget, point)
    # the fixture's two requests, needed on 5 and 6 March 2026 by ma.lan (channel)
    assert drilled.total == 2
    assert drilled.list_where is not None
    filters = [read_filter(text) for text in drilled.list_where]
    listed = purchase.query_records(ADMIN, "purchase", "purchase_request", filters=filters)
    assert sorted(r.id for r in listed.items) == sorted(r["id"] for r in drilled.rows)


@BOTH_ENGINES
def test_a_point_the_list_cannot_express_has_no_list_filters(purchase) -> None:  # noqa: F811
    others = {"others": {"supplier": [999]}}
    drilled = purchase.reports.drill(ADMIN, "purchase", "purchasing", "top_suppliers", others)
    assert drilled.total == 2 and drilled.list_where is None
    outside = purchase.reports.drill(
        ADMIN, "purchase", "purchasing", "spend_by_month", {"needed_by:month": "2026-04"}
    )
    assert outside.total == 0 and outside.rows == []
