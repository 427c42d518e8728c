"""Best-match lookups up the organisation's region tree ("the deeper region wins"), on
SQLite and PostgreSQL (docs/lookups.md, "Matching up an organisation tree").

The app is tests/scenarios/price_lookup_app.yaml (CHANNEL_DOMAIN C1) with its region
match declared over the region tree, and the organisation of CHANNEL_DOMAIN section C:
华东大区 → 浙江 ZJ, 江苏 JS; 华南大区 → 广东 GD. The C1 price lists plus, for these tests,
PL-B-EAST (grade B, 华东大区, 0.93 × base) and PL-EAST (every grade, 华东大区, 0.94 ×
base, P-1001 only). D001-D003 are the section C dealers; D004 (B, GD), D005 (D, ZJ) and
D006 (B, JS) are test dealers added to reach the other branches.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from engine.definitions import load_app_text
from engine.errors import RecordValidationError
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor
from tests.scenarios.test_price_lookup_scenario import _entry, _price

APP = Path(__file__).with_name("price_lookup_app.yaml")
CLERK = Actor("li.na")
BASE = {"P-1001": "240.00", "P-1002": "180.00", "P-2001": "288.00", "P-3001": "114.50"}
ORG = """
regions:
  - {code: 华东大区, name: 华东大区, level: 大区}
  - {code: ZJ, name: 浙江, level: 省区, parent: 华东大区}
  - {code: JS, name: 江苏, level: 省区, parent: 华东大区}
  - {code: 华南大区, name: 华南大区, level: 大区}
  - {code: GD, name: 广东, level: 省区, parent: 华南大区}
"""
TREE_MATCH = "region: {value: 'LOOKUP(dealer, \"region\")', tree: region}"


def tree_app_text() -> str:
    """The C1 app with its region match declared over the region tree."""
    text = APP.read_text(encoding="utf-8")
    plain = "region: 'LOOKUP(dealer, \"region\")'"
    assert plain in text
    return text.replace(plain, TREE_MATCH)


@pytest.fixture
def service(make_service):
    """The tree-matching pricing app, the region tree, the dealers and the price lists."""
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.install_app(SYSTEM_ACTOR, load_app_text(tree_app_text()))
    dealers = {
        "D001": ("B", "ZJ"),
        "D002": ("A", "ZJ"),
        "D003": ("C", "GD"),
        "D004": ("B", "GD"),
        "D005": ("D", "ZJ"),
        "D006": ("B", "JS"),
    }
    service.dealer_ids = {}
    for code, (grade, region) in dealers.items():
        data = {"code": code, "grade": grade, "region": region}
        service.dealer_ids[code] = service.create_record(CLERK, "pricing_demo", "dealer", data).id
    lists = {"PL-ALL": (None, "0.95"), "PL-B": ("B", "0.90"), "PL-A": ("A", "0.85")}
    for list_code, (grade, factor) in lists.items():
        for sku, base in BASE.items():
            _entry(service, list_code, sku, _price(base, factor), grade=grade)
    _entry(service, "PL-B", "P-1002", "157.00", grade="B", min_qty=100)
    _entry(
        service,
        "PL-B-ZJ",
        "P-1001",
        "210.00",
        grade="B",
        region="ZJ",
        valid_from="2025-04-01",
        valid_to="2025-06-30",
    )
    for sku, base in BASE.items():
        _entry(service, "PL-B-EAST", sku, _price(base, "0.93"), grade="B", region="华东大区")
    _entry(service, "PL-EAST", "P-1001", _price("240.00", "0.94"), region="华东大区")
    return service


def _unit_price(service, dealer, day, sku, qty) -> Decimal:
    data = {
        "dealer": service.dealer_ids[dealer],
        "order_date": day,
        "lines": [{"sku": sku, "qty": qty}],
    }
    order = service.create_record(CLERK, "pricing_demo", "sales_order", data)
    return order.values["lines"][0]["unit_price"]


@pytest.mark.parametrize(
    ("dealer", "day", "sku", "qty", "price"),
    [
        # 华东大区 serves ZJ when no ZJ row exists, and ranks above the grade-only PL-B
        ("D001", "2025-07-01", "P-1001", 50, "223.20"),  # 240 × 0.93; PL-B-ZJ has ended
        ("D001", "2025-05-20", "P-1002", 50, "167.40"),  # 180 × 0.93; no ZJ row for P-1002
        ("D006", "2025-05-20", "P-1001", 50, "223.20"),  # JS: the other child of 华东大区
        # the ZJ row (depth 0) beats the 华东大区 row (depth 1)
        ("D001", "2025-05-20", "P-1001", 50, "210.00"),
        ("D001", "2025-06-30", "P-1001", 50, "210.00"),
        # a GD dealer is not under 华东大区: grade B everywhere, and PL-ALL for grade C
        ("D004", "2025-05-20", "P-1001", 50, "216.00"),
        ("D003", "2025-05-20", "P-1001", 50, "228.00"),
        # the whole-country (blank region) row ranks last: PL-EAST beats PL-ALL for ZJ
        ("D005", "2025-05-20", "P-1001", 50, "225.60"),  # 240 × 0.94
        ("D005", "2025-05-20", "P-2001", 50, "273.60"),  # PL-ALL: no 华东大区 row of P-2001
        # C1 figures that the tree does not touch
        ("D002", "2025-05-20", "P-3001", 10, "97.33"),  # PL-A, 97.325 half-up
    ],
)
def test_the_deeper_region_wins(service, dealer, day, sku, qty, price):
    assert _unit_price(service, dealer, day, sku, qty) == Decimal(price)


def test_a_second_row_for_the_same_node_ties_and_a_deeper_node_does_not(service):
    with pytest.raises(RecordValidationError) as caught:
        _entry(service, "PL-B-EAST2", "P-1001", "220.00", grade="B", region="华东大区")
    [error] = caught.value.errors
    assert error.code == "tie"
    assert "与 #" in error.message and "PL-B-EAST P-1001 重叠" in error.message
    # JS lies below 华东大区: ranked by depth for every record, so no tie
    _entry(service, "PL-B-JS", "P-1001", "205.00", grade="B", region="JS")
    assert _unit_price(service, "D006", "2025-05-20", "P-1001", 50) == Decimal("205.00")
    assert _unit_price(service, "D001", "2025-07-01", "P-1001", 50) == Decimal("223.20")
    assert service.lookups.ties(CLERK, "pricing_demo", "price_entry") == []


def test_without_the_tree_the_parent_region_serves_nobody(make_service):
    """The plain (equality) match of the C1 app: the 华东大区 row does not serve ZJ."""
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.install_app(SYSTEM_ACTOR, load_app_text(APP.read_text(encoding="utf-8")))
    dealer = service.create_record(
        CLERK, "pricing_demo", "dealer", {"code": "D001", "grade": "B", "region": "ZJ"}
    )
    _entry(service, "PL-B", "P-1001", "216.00", grade="B")
    _entry(service, "PL-B-EAST", "P-1001", "223.20", grade="B", region="华东大区")
    data = {
        "dealer": dealer.id,
        "order_date": "2025-07-01",
        "lines": [{"sku": "P-1001", "qty": 50}],
    }
    order = service.create_record(CLERK, "pricing_demo", "sales_order", data)
    assert order.values["lines"][0]["unit_price"] == Decimal("216.00")


DOCS = Path(__file__).resolve().parents[2] / "docs" / "lookups.md"


def _docs_example() -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    [block] = [b for b in blocks if "tree: region" in b]
    return block


def test_the_docs_example_with_region_fields(make_service):
    """``type: region`` fields on both sides; blank, 华东大区 and ZJ rows of one SKU."""
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.install_app(SYSTEM_ACTOR, load_app_text(_docs_example()))
    for region, price in ((None, "100.00"), ("华东大区", "93.00"), ("ZJ", "90.00")):
        data = {"sku": "P-1001", "region": region, "unit_price": price}
        service.create_record(CLERK, "regional_prices", "price_entry", data)
    prices = {}
    for region in ("ZJ", "JS", "华东大区", "GD"):
        data = {"region": region, "sku": "P-1001"}
        order = service.create_record(CLERK, "regional_prices", "sales_order", data)
        prices[region] = order.values["unit_price"]
    assert prices == {
        "ZJ": Decimal("90.00"),
        "JS": Decimal("93.00"),
        "华东大区": Decimal("93.00"),
        "GD": Decimal("100.00"),
    }


def test_an_unranked_tree_field_ties_a_node_with_its_ancestor(make_service):
    """Without ``rank``, a ZJ row and a 华东大区 row both serve ZJ and nothing orders them."""
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    text = _docs_example().replace("    rank: [region]\n", "")
    service.install_app(SYSTEM_ACTOR, load_app_text(text))

    def entry(region, price):
        data = {"sku": "P-1001", "region": region, "unit_price": price}
        return service.create_record(CLERK, "regional_prices", "price_entry", data)

    east = entry("华东大区", "93.00")
    entry("GD", "95.00")  # another branch: no record matches both
    with pytest.raises(RecordValidationError) as caught:
        entry("ZJ", "90.00")
    [error] = caught.value.errors
    assert error.code == "tie"
    assert f"与 #{east.id} P-1001 重叠" in error.message
