"""CHANNEL_DOMAIN C5 and C18 through a real app: money formula fields computed by TIER and
ALLOCATE_SHARE, stored and read back on SQLite and PostgreSQL.

The app is tests/scenarios/tier_allocation_app.yaml. A money formula field rounds TIER's
exact result half-up to the cent when it is stored (1,999,999.99 at 2% is 39,999.9998,
stored 40,000.00), and a percent column holds the fraction (2% is 0.02, sent as "0.02").
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from engine.definitions import load_app_text
from engine.errors import RecordValidationError
from engine.service import SYSTEM_ACTOR, Actor

APP = Path(__file__).with_name("tier_allocation_app.yaml")
CLERK = Actor("li.na")

#: C5: [0, 1,000,000) 0%, [1,000,000, 2,000,000) 2%, [2,000,000, no bound) 3%
C5_TIERS = [
    {"lower": "0.00", "upper": "1000000.00", "rate": "0"},
    {"lower": "1000000.00", "upper": "2000000.00", "rate": "0.02"},
    {"lower": "2000000.00", "upper": None, "rate": "0.03"},
]
#: C5's table: basis -> (whole-amount, progressive)
C5_TABLE = {
    "2425000.00": ("72750.00", "32750.00"),
    "2000000.00": ("60000.00", "20000.00"),
    "1999999.99": ("40000.00", "20000.00"),
    "1000000.00": ("20000.00", "0.00"),
    "999999.99": ("0.00", "0.00"),
}


@pytest.fixture
def service(make_service):
    """A Service with the tiers demo app installed."""
    service = make_service()
    service.install_app(SYSTEM_ACTOR, load_app_text(APP.read_text(encoding="utf-8")))
    return service


def _statement(service, basis: str, **extra):
    data = {"basis": basis, "tiers": C5_TIERS, **extra}
    return service.create_record(CLERK, "tiers_demo", "volume_statement", data)


def test_c5_table_whole_and_progressive_amounts_are_stored_to_the_cent(service):
    for basis, (whole, progressive) in C5_TABLE.items():
        created = _statement(service, basis)
        stored = service.get_record(CLERK, "tiers_demo", "volume_statement", created.id)
        assert stored.values["tiers"][1]["rate"] == Decimal("0.02")
        assert (basis, stored.values["whole_amount"]) == (basis, Decimal(whole))
        assert (basis, stored.values["progressive_amount"]) == (basis, Decimal(progressive))


def test_a_cap_limits_the_amount(service):
    record = _statement(service, "2425000.00", cap="50000.00")
    assert record.values["whole_amount"] == Decimal("50000.00")
    assert record.values["progressive_amount"] == Decimal("32750.00")


def test_a_gap_in_the_bands_is_refused_with_what_to_fix(service):
    gapped = [dict(C5_TIERS[0]), {**C5_TIERS[1], "lower": "1200000.00"}, dict(C5_TIERS[2])]
    with pytest.raises(RecordValidationError) as caught:
        service.create_record(
            CLERK, "tiers_demo", "volume_statement", {"basis": "5.00", "tiers": gapped}
        )
    messages = " ".join(error.message for error in caught.value.errors)
    assert "“whole_amount” 的公式无法计算" in messages  # the frame is in the user's language
    assert "gap between band 1 (ends at 1000000.00) and band 2 (starts at 1200000.00)" in messages


def _order(service, discount: str, amounts: list[str]):
    lines = [{"line_no": n, "amount": a} for n, a in enumerate(amounts, start=1)]
    data = {"discount": discount, "lines": lines}
    created = service.create_record(CLERK, "tiers_demo", "discounted_order", data)
    return service.get_record(CLERK, "tiers_demo", "discounted_order", created.id)


@pytest.mark.parametrize(
    "discount, amounts, shares",
    [
        ("100.00", ["300.00", "300.00", "300.00"], ["33.34", "33.33", "33.33"]),
        ("1000.00", ["52500.00", "25920.00", "6480.00"], ["618.37", "305.30", "76.33"]),
    ],
)
def test_c18_discount_split_by_largest_remainder(service, discount, amounts, shares):
    order = _order(service, discount, amounts)
    assert [line["share"] for line in order.values["lines"]] == [Decimal(s) for s in shares]
    assert order.values["shares_total"] == Decimal(discount)


def test_shares_of_computed_line_amounts_wait_for_every_amount(service):
    # C2's lines: 250 x 210.00, 100 x 259.20, 40 x 162.00; C18's 1,000.00 split over them
    lines = [
        {"line_no": 1, "qty": 250, "price": "210.00"},
        {"line_no": 2, "qty": 100, "price": "259.20"},
        {"line_no": 3, "qty": 40, "price": "162.00"},
    ]
    data = {"discount": "1000.00", "lines": lines}
    order = service.create_record(CLERK, "tiers_demo", "priced_order", data)
    assert [line["amount"] for line in order.values["lines"]] == [
        Decimal("52500.00"),
        Decimal("25920.00"),
        Decimal("6480.00"),
    ]
    assert [line["share"] for line in order.values["lines"]] == [
        Decimal("618.37"),
        Decimal("305.30"),
        Decimal("76.33"),
    ]
