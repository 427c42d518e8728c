"""Relations and organisation values named in an imported file
(engine/service/import_lookups.py), on SQLite and PostgreSQL: by display value or a
unique field, users by login or name, departments by name; missing and ambiguous names
are errors with counts; a dealer's person resolves only within their scope."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import pytest

from engine.definitions import load_app_text
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor, RecordValidationError
from engine.service.import_lookups import ImportResolver, lookup_fields
from engine.service.import_values import CellError, converter_for

ORG = """
departments:
  - {code: hq, name: 总部}
  - {code: east, name: 华东大区, parent: hq}
  - {code: east2, name: 华东大区, parent: hq}
  - {code: south, name: 华南大区, parent: hq}
roles:
  - {code: admin, name: Admin}
  - {code: dealer_user, name: Dealer user}
  - {code: staff, name: Staff}
regions:
  - {code: rzj, name: 浙江}
dealers:
  - {code: DA, name: 杭州甲经销商, region: rzj}
  - {code: DB, name: 宁波乙经销商, region: rzj}
users:
  - {login: admin, name: 管理员, department: hq, roles: [admin]}
  - {login: zhang.wei, name: 张伟, department: east, roles: [staff]}
  - {login: zhang.wei2, name: 张伟, department: south, roles: [staff]}
  - {login: li.na, name: 李娜, department: east, roles: [staff]}
  - {login: da.boss, name: 甲老板, kind: external, dealer: DA, roles: [dealer_user]}
  - {login: da.clerk, name: 甲文员, kind: external, dealer: DA, roles: [dealer_user]}
  - {login: db.boss, name: 乙老板, kind: external, dealer: DB, roles: [dealer_user]}
"""

APP = """
app: shop
version: 1.0.0
name: Shop
roles:
  staff: Staff
  dealer_user: Dealer user
---
form: product
name: {zh-CN: 商品, en: Product}
title: "{{ name }}"
fields:
  name: {type: text, label: {zh-CN: 名称, en: Name}, required: true}
  sku: {type: text, label: SKU, pattern: "^P-[0-9]+$", unique: true}
  dealer: {type: dealer, label: 经销商}
permissions:
  staff: {can: all}
  dealer_user: {can: [read, create], rows: {dealer_tree: dealer}}
---
form: order
fields:
  product: {type: relation, to: product, display: name, label: 商品}
  products: {type: relation, to: product, display: name, many: true, label: 多个商品}
  owner: {type: user, label: 负责人}
  helpers: {type: user, many: true, label: 协助人}
  dept: {type: department, label: 部门}
  dealer: {type: dealer, label: 经销商}
  region: {type: region, label: 区域}
permissions:
  staff: {can: all}
  dealer_user: {can: [read, create, import], rows: {dealer_tree: dealer}}
---
form: price
fields:
  product: {type: relation, to: product, display: name, label: 商品}
  price: {type: money, label: 单价, min: 0.01}
  valid_from: {type: date, label: 生效日期}
permissions:
  staff: {can: all}
"""

PRODUCTS = [
    ("螺丝", "P-1001", "DA"),
    ("螺母", "P-1002", "DA"),
    ("垫片", "P-2001", "DB"),
    ("垫片", "P-2002", "DB"),
    ("弹簧", "P-3001", "DB"),
]


@pytest.fixture
def shop(make_service):
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.install_app(SYSTEM_ACTOR, load_app_text(APP))
    ids = {}
    for name, sku, dealer in PRODUCTS:
        record = service.create_record(
            Actor("admin"), "shop", "product", {"name": name, "sku": sku, "dealer": dealer}
        )
        ids[sku] = record.id
    # a deleted product is no longer there to be named
    gone = service.create_record(Actor("admin"), "shop", "product", {"name": "旧品", "sku": "P-9"})
    service.delete_record(Actor("admin"), "shop", "product", gone.id)
    service.ids = ids
    return service


ORDER = load_app_text(APP).forms[1]
PRICE = load_app_text(APP).forms[2]


@contextmanager
def resolver(service, login: str, locale: str = "zh-CN") -> Iterator[ImportResolver]:
    actor = Actor(login, locale=locale)
    with service._context.transactions.read("shop") as tx:
        yield ImportResolver(tx, tx.access(actor), locale)


def refusal(call) -> CellError:
    with pytest.raises(CellError) as caught:
        call()
    return caught.value


def test_a_relation_is_found_by_its_display_value_or_a_unique_field(shop):
    with resolver(shop, "admin") as found:
        product = ORDER.field("product")
        found.prefetch(product, ["螺丝", "P-1002", "垫片", "P-2002", "没有", "P-9", "旧品"])
        assert found.relation(product, "螺丝") == shop.ids["P-1001"]
        assert found.relation(product, "P-1002") == shop.ids["P-1002"]
        assert found.relation(product, " P-2002 ") == shop.ids["P-2002"]
        assert found.relation(product, "Ｐ－１００１") == shop.ids["P-1001"]  # full width
        ambiguous = refusal(lambda: found.relation(product, "垫片"))
        assert (ambiguous.code, ambiguous.message) == (
            "ambiguous",
            "“垫片”不唯一，有 2 条商品记录的名称或SKU是它，请改用唯一的字段",
        )
        missing = refusal(lambda: found.relation(product, "没有"))
        assert (missing.code, missing.message) == ("not_found", "没有名称或SKU为“没有”的商品记录")
        assert refusal(lambda: found.relation(product, "P-9")).code == "not_found"
        assert refusal(lambda: found.relation(product, "旧品")).code == "not_found"


def test_texts_not_prefetched_are_looked_up_one_by_one(shop):
    with resolver(shop, "admin", "en") as found:
        product = ORDER.field("product")
        assert found.relation(product, "弹簧") == shop.ids["P-3001"]
        assert refusal(lambda: found.relation(product, "垫片")).message == (
            "'垫片' is not unique: 2 Product records have it as their Name or SKU; "
            "use a field that is unique"
        )
        assert refusal(lambda: found.relation(product, "nothing")).message == (
            "no Product record has 'nothing' as its Name or SKU"
        )


def test_a_many_relation_cell_lists_several(shop):
    with resolver(shop, "admin") as found:
        found.prefetch(ORDER.field("products"), ["螺丝、P-2001；弹簧", None, 1001.0])
        assert len(found._relations) == 4  # the items of each cell, looked up together
        convert = converter_for(ORDER.field("products"), found, "zh-CN")
        assert convert("螺丝、P-2001；弹簧") == [
            shop.ids["P-1001"],
            shop.ids["P-2001"],
            shop.ids["P-3001"],
        ]
        assert convert("螺丝, 螺丝") == [shop.ids["P-1001"]]
        assert refusal(lambda: convert("螺丝、垫片")).code == "ambiguous"


def test_a_dealer_user_cannot_name_another_dealers_record(shop):
    with resolver(shop, "da.boss") as found:
        product = ORDER.field("product")
        found.prefetch(product, ["螺丝", "P-2001", "弹簧", "垫片"])
        assert found.relation(product, "螺丝") == shop.ids["P-1001"]
        # DB's products read exactly like products that do not exist: no count, no hint
        for text in ("P-2001", "弹簧", "垫片"):
            error = refusal(lambda text=text: found.relation(product, text))
            assert (error.code, error.message) == (
                "not_found",
                f"没有名称或SKU为“{text}”的商品记录",
            )


def test_the_lookup_fields_leave_out_what_the_importer_may_not_see():
    product = load_app_text(APP).forms[0]
    assert lookup_fields(product, None, frozenset()) == ["title", "sku"]
    assert lookup_fields(product, "name", frozenset()) == ["name", "sku"]
    assert lookup_fields(product, "name", frozenset({"sku"})) == ["name"]


def test_a_prefetch_of_many_texts_is_batched_and_exact(shop):
    texts = [f"P-{i}" for i in range(5000, 6200)] + ["P-1001", "螺母"]
    with resolver(shop, "admin") as found:
        product = ORDER.field("product")
        found.prefetch(product, texts)
        assert found.relation(product, "P-1001") == shop.ids["P-1001"]
        assert found.relation(product, "螺母") == shop.ids["P-1002"]
        assert refusal(lambda: found.relation(product, "P-5999")).code == "not_found"


def test_users_by_login_or_name(shop):
    with resolver(shop, "admin") as found:
        owner = ORDER.field("owner")
        assert found.org(owner, "li.na") == "li.na"
        assert found.org(owner, "李娜") == "li.na"
        assert found.org(owner, "zhang.wei2") == "zhang.wei2"
        ambiguous = refusal(lambda: found.org(owner, "张伟"))
        assert (ambiguous.code, ambiguous.message) == (
            "ambiguous",
            "名称为“张伟”的用户不唯一，有 2 个，请改填登录名",
        )
        missing = refusal(lambda: found.org(owner, "王五"))
        assert (missing.code, missing.message) == ("not_found", "没有名称或编号为“王五”的用户")
        convert = converter_for(ORDER.field("helpers"), found, "zh-CN")
        assert convert("李娜、zhang.wei") == ["li.na", "zhang.wei"]


def test_departments_regions_and_dealers_by_code_or_name(shop):
    with resolver(shop, "admin", "en") as found:
        dept = ORDER.field("dept")
        assert found.org(dept, "华南大区") == "south"
        assert found.org(dept, "east") == "east"
        assert refusal(lambda: found.org(dept, "华东大区")).message == (
            "2 departments are called '华东大区': write the code instead"
        )
        assert found.org(ORDER.field("dealer"), "宁波乙经销商") == "DB"
        assert found.org(ORDER.field("dealer"), "da") == "DA"
        assert found.org(ORDER.field("region"), "浙江") == "rzj"


def test_a_dealer_user_picks_only_within_their_dealer(shop):
    with resolver(shop, "da.boss") as found:
        owner = ORDER.field("owner")
        assert found.org(owner, "甲文员") == "da.clerk"
        assert refusal(lambda: found.org(owner, "乙老板")).code == "not_found"
        assert refusal(lambda: found.org(owner, "李娜")).code == "not_found"
        assert found.org(ORDER.field("dealer"), "杭州甲经销商") == "DA"
        assert refusal(lambda: found.org(ORDER.field("dealer"), "DB")).code == "not_found"
        assert refusal(lambda: found.org(ORDER.field("dept"), "总部")).code == "not_found"


def test_an_organisation_without_people_keeps_codes_as_written(make_service):
    service = make_service()
    service.install_app(SYSTEM_ACTOR, load_app_text(APP))
    with resolver(service, "script") as found:
        assert found.org(ORDER.field("owner"), "someone") == "someone"


# the price-list rows of the channel scenario C17 that name existing products
C17 = [
    (2, "P-1001", 210.0, date(2025, 7, 1)),
    (3, "P-1002", "１６２．００", "2025/7/1"),
    (7, "P-3001", 103.055, date(2025, 7, 1)),
    (8, "P-2001", 259.2, 45839.0),
]


def test_price_list_rows_convert_and_the_money_field_judges_its_decimals(shop):
    converted = {}
    with resolver(shop, "admin") as found:
        found.prefetch(PRICE.field("product"), [sku for _n, sku, _p, _d in C17])
        convert = {
            key: converter_for(PRICE.field(key), found, "zh-CN")
            for key in ("product", "price", "valid_from")
        }
        for number, sku, price, day in C17:
            converted[number] = {
                "product": convert["product"](sku),
                "price": convert["price"](price),
                "valid_from": convert["valid_from"](day),
            }
    assert converted[3] == {
        "product": shop.ids["P-1002"],
        "price": Decimal("162.00"),
        "valid_from": date(2025, 7, 1),
    }
    assert converted[8]["valid_from"] == date(2025, 7, 1)
    assert converted[7]["price"] == Decimal("103.055")  # not rounded to 103.06
    admin = Actor("admin")
    for number in (2, 3, 8):
        record = shop.create_record(admin, "shop", "price", converted[number], source="import")
        assert record.values["valid_from"] == date(2025, 7, 1)
    assert shop.get_record(admin, "shop", "price", 2).values["price"] == Decimal("162.00")
    with pytest.raises(RecordValidationError) as caught:
        shop.create_record(admin, "shop", "price", converted[7], source="import")
    assert [(e.field, e.message) for e in caught.value.errors] == [("price", "最多 2 位小数")]
