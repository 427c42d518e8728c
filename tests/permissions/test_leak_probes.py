"""Leak probes: every read path of the service, for actors who may see only some rows.

One small organisation (two dealers with sub-dealers, a department tree, a region tree)
and one app whose forms chain by relations (order -> shipment -> warehouse), each with a
dealer field. Every probe asserts exact id sets: what an actor gets equals what a plain
Python reference of the row rules says, on SQLite and on PostgreSQL, whatever filter,
search, sort or path is asked. Out of scope reads exactly like a missing record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
import sqlalchemy as sa

from engine.definitions import load_app_text
from engine.errors import (
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RecordValidationError,
)
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor
from engine.store.query import OPERATORS

ORG = """
departments:
  - {code: hq, name: HQ}
  - {code: sales, name: Sales, parent: hq}
  - {code: east, name: East, parent: sales}
  - {code: east_sub, name: East sub, parent: east}
  - {code: south, name: South, parent: sales}
roles:
  - {code: admin, name: Admin}
  - {code: dealer_user, name: Dealer user}
  - {code: dept_user, name: Department user}
  - {code: dept_tree_user, name: Department tree user}
  - {code: rep, name: Sales rep}
  - {code: assignee, name: Assignee}
  - {code: helper, name: Helper}
  - {code: region_field, name: Region (field)}
  - {code: region_tree_field, name: Region tree (field)}
  - {code: region_dealer, name: Region (dealer)}
  - {code: region_tree_dealer, name: Region tree (dealer)}
  - {code: own_role, name: Own}
  - {code: expr_role, name: Expression}
  - {code: export_only, name: Export only}
  - {code: finance, name: Finance}
  - {code: app_boss, name: App boss}
regions:
  - {code: cn, name: China}
  - {code: re, name: East region, parent: cn}
  - {code: rzj, name: Zhejiang, parent: re}
  - {code: rhz, name: Hangzhou, parent: rzj}
  - {code: rs, name: South region, parent: cn}
  - {code: rgd, name: Guangdong, parent: rs, managers: [mgr.gd]}
dealers:
  - {code: DA, name: Dealer A, region: rhz, sales_rep: rep.a}
  - {code: DA1, name: Dealer A1, parent: DA, region: rzj, sales_rep: rep.b}
  - {code: DB, name: Dealer B, region: rgd, sales_rep: rep.b}
  - {code: DB1, name: Dealer B1, parent: DB, region: rs}
users:
  - {login: admin, name: Admin, department: hq, roles: [admin]}
  - {login: da.boss, name: DA boss, kind: external, dealer: DA, roles: [dealer_user]}
  - {login: da1.boss, name: DA1 boss, kind: external, dealer: DA1, roles: [dealer_user]}
  - {login: db.boss, name: DB boss, kind: external, dealer: DB, roles: [dealer_user]}
  - {login: ext.norole, name: External without role, kind: external, dealer: DA}
  - {login: east.user, name: East user, department: east, roles: [dept_user]}
  - {login: multi.dept, name: Two departments, department: south, departments: [south, east_sub], roles: [dept_user]}
  - {login: east.tree, name: East tree, department: east, roles: [dept_tree_user]}
  - {login: sales.tree, name: Sales tree, department: sales, roles: [dept_tree_user]}
  - {login: rep.a, name: Rep A, department: sales, roles: [rep]}
  - {login: rep.b, name: Rep B, department: sales, roles: [rep]}
  - {login: owner.x, name: Owner X, department: sales, roles: [assignee]}
  - {login: helper.y, name: Helper Y, department: sales, roles: [helper]}
  - {login: zj.region, name: ZJ region, region: rzj, roles: [region_field]}
  - {login: zj.tree, name: ZJ tree, region: rzj, roles: [region_tree_field]}
  - {login: zj.dealers, name: ZJ dealers, region: rzj, roles: [region_dealer]}
  - {login: e.dealers, name: East dealers, region: re, roles: [region_tree_dealer]}
  - {login: mgr.gd, name: GD manager, region: rzj, roles: [region_dealer]}
  - {login: own.user, name: Own user, department: hq, roles: [own_role]}
  - {login: expr.user, name: Expression user, department: hq, roles: [expr_role]}
  - {login: exporter, name: Exporter, department: hq, roles: [export_only]}
  - {login: fin, name: Finance, department: hq, roles: [finance]}
  - {login: boss, name: App boss, department: hq, roles: [app_boss]}
  - {login: plain, name: No role, department: hq}
"""

ROLES = [
    "dealer_user",
    "dept_user",
    "dept_tree_user",
    "rep",
    "assignee",
    "helper",
    "region_field",
    "region_tree_field",
    "region_dealer",
    "region_tree_dealer",
    "own_role",
    "expr_role",
    "export_only",
    "finance",
]

APP = (
    """
app: probe
version: 1.0.0
name: Probe
roles:
"""
    + "".join(f"  {role}: {role}\n" for role in ROLES)
    + """  app_boss: {name: App boss, admin: true}
---
form: warehouse
title: "{{ name }}"
fields:
  name: {type: text, required: true}
  dealer: dealer
  cost: money
permissions:
  dealer_user: {can: [read], rows: {dealer_tree: dealer}, fields: {cost: hidden}}
  finance: {can: all}
---
form: shipment
title: "{{ name }} {{ secret }}"
fields:
  name: {type: text, required: true}
  dealer: dealer
  warehouse: {type: relation, to: warehouse, display: name}
  secret: text
  weight: number
permissions:
  dealer_user: {can: [read], rows: {dealer_tree: dealer}, fields: {secret: hidden}}
  dept_user: {can: [read]}
  finance: {can: all}
---
form: order
title: "{{ name }} {{ memo }}"
fields:
  name: {type: text, required: true}
  code: {type: text, unique: true}
  amount: number
  cost: money
  memo: text
  note: text
  review: {type: select, options: [pending, approved], default: pending}
  dealer: dealer
  region: region
  dept: department
  owner: user
  helpers: {type: user, many: true}
  shipment: {type: relation, to: shipment, display: name}
list:
  sort: [-id]
permissions:
  dealer_user:
    can: [create, read, update, delete, export]
    rows: {dealer_tree: dealer}
    fields: {cost: hidden, memo: hidden, review: readonly}
  dept_user: {can: [read, update], rows: {department: dept}}
  dept_tree_user: {can: [read], rows: {department_tree: dept}}
  rep: {can: [read], rows: {assigned: dealer}}
  assignee: {can: [read], rows: {assigned: owner}}
  helper: {can: [read], rows: {assigned: helpers}}
  region_field: {can: [read], rows: {region: region}}
  region_tree_field: {can: [read], rows: {region_tree: region}}
  region_dealer: {can: [read], rows: {region: dealer}}
  region_tree_dealer: {can: [read], rows: {region_tree: dealer}}
  own_role: {can: [create, read], rows: own}
  expr_role: {can: [read], rows: {expr: "amount >= 100 and review == 'approved'"}}
  export_only: {can: [export], fields: {cost: hidden, memo: hidden}}
  finance: {can: all}
"""
)

#: trees of the organisation above: code -> parent
DEPARTMENT_PARENT = {
    "hq": None,
    "sales": "hq",
    "east": "sales",
    "east_sub": "east",
    "south": "sales",
}
REGION_PARENT = {"cn": None, "re": "cn", "rzj": "re", "rhz": "rzj", "rs": "cn", "rgd": "rs"}
DEALER_PARENT = {"DA": None, "DA1": "DA", "DB": None, "DB1": "DB"}
DEALER_REGION = {"DA": "rhz", "DA1": "rzj", "DB": "rgd", "DB1": "rs"}
DEALER_REP = {"DA": "rep.a", "DA1": "rep.b", "DB": "rep.b", "DB1": None}


def below(parents: dict[str, str | None], roots: set[str]) -> set[str]:
    """The codes at or below ``roots`` in a tree given as code -> parent."""
    out = set()
    for code in parents:
        node: str | None = code
        while node is not None:
            if node in roots:
                out.add(code)
                break
            node = parents[node]
    return out


# The reference: which orders each actor may read, written from the rules' definitions.
OrderRule = Callable[[dict[str, Any]], bool]


def dealer_tree(dealer: str) -> OrderRule:
    codes = below(DEALER_PARENT, {dealer})
    return lambda r: r["dealer"] in codes


ORDER_SCOPE: dict[str, OrderRule] = {
    "da.boss": dealer_tree("DA"),
    "da1.boss": dealer_tree("DA1"),
    "db.boss": dealer_tree("DB"),
    "ext.norole": lambda r: False,
    "east.user": lambda r: r["dept"] == "east",
    "multi.dept": lambda r: r["dept"] in {"south", "east_sub"},
    "east.tree": lambda r: r["dept"] in below(DEPARTMENT_PARENT, {"east"}),
    "sales.tree": lambda r: r["dept"] in below(DEPARTMENT_PARENT, {"sales"}),
    "rep.a": lambda r: r["dealer"] is not None and DEALER_REP[r["dealer"]] == "rep.a",
    "rep.b": lambda r: r["dealer"] is not None and DEALER_REP[r["dealer"]] == "rep.b",
    "owner.x": lambda r: r["owner"] == "owner.x",
    "helper.y": lambda r: "helper.y" in (r["helpers"] or []),
    "zj.region": lambda r: r["region"] == "rzj",
    "zj.tree": lambda r: r["region"] in below(REGION_PARENT, {"rzj"}),
    "zj.dealers": lambda r: r["dealer"] is not None and DEALER_REGION[r["dealer"]] == "rzj",
    "e.dealers": lambda r: (
        r["dealer"] is not None and DEALER_REGION[r["dealer"]] in below(REGION_PARENT, {"re"})
    ),
    # main region rzj plus the managed region rgd (not rgd's subtree: region, not region_tree)
    "mgr.gd": lambda r: r["dealer"] is not None and DEALER_REGION[r["dealer"]] in {"rzj", "rgd"},
    "own.user": lambda r: r["created_by"] == "own.user",
    "expr.user": lambda r: (
        r["amount"] is not None and r["amount"] >= 100 and r["review"] == "approved"
    ),
    "plain": lambda r: False,
    "fin": lambda r: True,
    "boss": lambda r: True,
    "admin": lambda r: True,
}
#: actors who may read some orders with the default grants (export_only may not read)
READERS = [a for a in ORDER_SCOPE if a not in ("ext.norole", "plain")]
DEALERS = ["da.boss", "da1.boss", "db.boss"]
#: related forms: who sees which shipments and warehouses (by their dealer field)
RELATED_SCOPE: dict[str, Callable[[str, dict[str, Any]], bool]] = {
    "da.boss": lambda form, r: dealer_tree("DA")(r),
    "da1.boss": lambda form, r: dealer_tree("DA1")(r),
    "db.boss": lambda form, r: dealer_tree("DB")(r),
    # department users read every shipment and no warehouse
    "east.user": lambda form, r: form == "shipment",
    "fin": lambda form, r: True,
    "admin": lambda form, r: True,
}

WAREHOUSES = [
    {"name": "wh-alpha", "dealer": "DA", "cost": "11.00"},
    {"name": "wh-beta", "dealer": "DB", "cost": "22.00"},
    {"name": "wh-gamma", "dealer": "DA1", "cost": "33.00"},
    {"name": "wh-delta", "dealer": None, "cost": "44.00"},
]
#: warehouse is an index into WAREHOUSES
SHIPMENTS = [
    {"name": "sh-one", "dealer": "DA", "warehouse": 0, "secret": "s1-hush", "weight": 5},
    {"name": "sh-two", "dealer": "DA1", "warehouse": 1, "secret": "s2-hush", "weight": 15},
    {"name": "sh-three", "dealer": "DB", "warehouse": 1, "secret": "s3-hush", "weight": 25},
    {"name": "sh-four", "dealer": "DA", "warehouse": 2, "secret": "s4-hush", "weight": 35},
    {"name": "", "dealer": "DB1", "warehouse": None, "secret": None, "weight": None},
    {"name": "sh-six", "dealer": "DA", "warehouse": 3, "secret": "s6-hush", "weight": 55},
]
SHIPMENTS[4]["name"] = "sh-five"
DEALER_CYCLE = ["DA", "DA1", "DB", "DB1", None, "DA", "DB"]
REGION_CYCLE = ["rzj", "rhz", "re", "rgd", None, "rs", "cn", "rzj"]
DEPT_CYCLE = ["east", "east_sub", "south", "sales", None, "hq", "east"]
OWNER_CYCLE = ["owner.x", None, "rep.a", "owner.x", "helper.y"]
HELPERS_CYCLE = [["helper.y"], [], ["owner.x", "helper.y"], None, ["rep.b"], ["helper.y", "rep.a"]]


def order_specs() -> list[dict[str, Any]]:
    """Twenty orders with every combination the rules care about spread across them."""
    out = []
    for i in range(20):
        out.append(
            {
                "name": f"ord-{i:02d}" if i % 5 else f"ORD-big-{i:02d}",
                "code": f"C{i:02d}",
                "amount": None if i % 9 == 4 else i * 15,
                "cost": f"{100 + i}.50",
                "memo": f"memo-zz{i:02d}",
                "note": None if i % 4 == 3 else ("" if i % 4 == 2 else f"note {i} shared"),
                "review": "approved" if i % 3 == 0 else "pending",
                "dealer": DEALER_CYCLE[i % len(DEALER_CYCLE)],
                "region": REGION_CYCLE[i % len(REGION_CYCLE)],
                "dept": DEPT_CYCLE[i % len(DEPT_CYCLE)],
                "owner": OWNER_CYCLE[i % len(OWNER_CYCLE)],
                "helpers": HELPERS_CYCLE[i % len(HELPERS_CYCLE)],
                "shipment": None if i % 7 == 6 else i % len(SHIPMENTS),
            }
        )
    return out


@dataclass
class World:
    service: Any
    database_url: str
    #: form -> record id -> values as written (relations as ids), plus created_by
    rows: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)

    def ids(self, form: str, actor: str) -> set[int]:
        """The reference: ids of ``form`` that ``actor`` may read."""
        if form == "order":
            return {i for i, r in self.rows["order"].items() if ORDER_SCOPE[actor](r)}
        rule = RELATED_SCOPE.get(actor, lambda form, r: False)
        return {i for i, r in self.rows[form].items() if rule(form, r)}

    def query_ids(self, actor: str, form: str = "order", **kwargs: Any) -> set[int]:
        page = self.service.query_records(Actor(actor), "probe", form, page_size=500, **kwargs)
        ids = [r.id for r in page.items]
        assert len(ids) == len(set(ids))
        assert page.total == len(ids), (actor, kwargs)
        return set(ids)

    def stored(self) -> tuple[int, ...]:
        """Rows of every form table (deleted ones too), revisions and outbox events."""
        engine = sa.create_engine(self.database_url)
        tables = [f"f_probe_{f}" for f in ("warehouse", "shipment", "order")]
        tables += ["record_revisions", "outbox", "audit_log"]
        try:
            with engine.connect() as conn:
                return tuple(
                    conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables
                )
        finally:
            engine.dispose()

    def admin_ids(self, form: str = "order", **kwargs: Any) -> set[int]:
        return self.query_ids("admin", form, **kwargs)


def build_world(make_service: Callable[..., Any], database_url: str) -> World:
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.install_app(SYSTEM_ACTOR, load_app_text(APP))
    world = World(service, database_url, {"warehouse": {}, "shipment": {}, "order": {}})
    admin = Actor("admin")

    def create(form: str, values: dict[str, Any], who: Actor = admin) -> int:
        data = {k: v for k, v in values.items() if v is not None}
        record = service.create_record(who, "probe", form, data)
        world.rows[form][record.id] = {**values, "created_by": who.user_id}
        return record.id

    warehouses = [create("warehouse", w) for w in WAREHOUSES]
    shipments = []
    for s in SHIPMENTS:
        at = s["warehouse"]
        shipments.append(
            create("shipment", {**s, "warehouse": None if at is None else warehouses[at]})
        )
    for i, spec in enumerate(order_specs()):
        at = spec["shipment"]
        values = {**spec, "shipment": None if at is None else shipments[at]}
        # some orders are created by the people whose `own` rule reads created_by
        # (own_role reads no shipment, so theirs point at none)
        who = Actor("own.user") if i in (3, 8, 13) else admin
        if who is not admin:
            values["shipment"] = None
        create("order", values, who)
    return world


@pytest.fixture
def world(make_service, database_url) -> World:
    return build_world(make_service, database_url)


def export_all(service: Any, *args: Any, **kwargs: Any) -> list[Any]:
    return list(service.records.export(*args, **kwargs))


def refusal(call: Callable[[], Any], kind: type[Exception]) -> str:
    with pytest.raises(kind) as caught:
        call()
    return str(caught.value)


# -- scopes: every rule, every actor ----------------------------------------------------


def test_every_actor_lists_exactly_the_rows_of_their_rules(world):
    for actor in READERS:
        assert world.query_ids(actor) == world.ids("order", actor), actor
    # and the references are not trivial: every rule admits some rows and leaves others
    for actor in READERS:
        if actor not in ("fin", "boss", "admin"):
            assert 0 < len(world.ids("order", actor)) < len(world.rows["order"]), actor


def test_people_without_a_read_grant_are_refused(world):
    for actor in ("ext.norole", "plain", "exporter"):
        who = Actor(actor)
        for call in (
            partial(world.query_ids, actor),
            partial(world.service.get_record, who, "probe", "order", 1),
            partial(world.service.record_history, who, "probe", "order", 1),
        ):
            refusal(call, PermissionDeniedError)


def test_pages_and_totals_count_only_rows_in_scope(world):
    for actor in ("da.boss", "east.tree", "helper.y", "mgr.gd", "expr.user"):
        expected = world.ids("order", actor)
        seen: list[int] = []
        for number in range(1, 20):
            page = world.service.query_records(
                Actor(actor), "probe", "order", page=number, page_size=2, sort=["amount", "name"]
            )
            assert page.total == len(expected)
            seen += [r.id for r in page.items]
            if len(page.items) < 2:
                break
        assert sorted(seen) == sorted(expected), actor
        without = world.service.query_records(Actor(actor), "probe", "order", with_total=False)
        assert without.total is None


ORDER_FILTERS: list[tuple[str, str, Any]] = [
    ("amount", "eq", 45),
    ("amount", "ne", 45),
    ("amount", "lt", 100),
    ("amount", "le", 105),
    ("amount", "gt", 100),
    ("amount", "ge", 105),
    ("amount", "in", [0, 45, 150, 285]),
    ("amount", "not_in", [0, 45, 150]),
    ("amount", "between", [30, 200]),
    ("amount", "blank", None),
    ("amount", "not_blank", None),
    ("name", "eq", "ord-01"),
    ("name", "ne", "ord-01"),
    ("name", "contains", "big"),
    ("name", "startswith", "ord-1"),
    ("name", "in", ["ord-01", "ORD-big-05", "ord-13"]),
    ("name", "not_in", ["ord-01", "ORD-big-05"]),
    ("note", "blank", None),
    ("note", "not_blank", None),
    ("note", "contains", "shared"),
    ("note", "ne", "note 1 shared"),
    ("code", "startswith", "C1"),
    ("code", "between", ["C03", "C11"]),
    ("dealer", "eq", "DA"),
    ("dealer", "ne", "DA"),
    ("dealer", "in", ["DA1", "DB1"]),
    ("dealer", "not_in", ["DA"]),
    ("dealer", "blank", None),
    ("dealer", "not_blank", None),
    ("region", "eq", "rzj"),
    ("region", "ne", "rzj"),
    ("dept", "in", ["east", "south"]),
    ("dept", "blank", None),
    ("owner", "eq", "owner.x"),
    ("owner", "blank", None),
    ("helpers", "blank", None),
    ("helpers", "not_blank", None),
    ("review", "eq", "approved"),
    ("review", "ne", "approved"),
    ("created_by", "eq", "own.user"),
    ("id", "between", [3, 12]),
    ("id", "in", [1, 2, 3, 4, 5, 18]),
    ("id", "gt", 10),
    ("status", "eq", "active"),
    ("title", "contains", "ord-1"),
    ("shipment", "eq", 3),
    ("shipment", "not_in", [1, 3]),
    ("shipment", "blank", None),
    ("shipment", "not_blank", None),
]


def test_every_operator_on_every_kind_of_field_stays_in_scope(world):
    # the filter's meaning is the admin's result; an actor gets exactly its part in scope
    assert {op for _f, op, _v in ORDER_FILTERS} == set(OPERATORS)
    for flt in ORDER_FILTERS:
        everything = world.admin_ids(filters=[flt])
        for actor in READERS:
            if flt[0] == "title" and actor in DEALERS:
                continue  # their title shows a hidden field: refused (see below)
            got = world.query_ids(actor, filters=[flt])
            assert got == everything & world.ids("order", actor), (actor, flt)


def holds(op: str, value: Any, arg: Any) -> bool:
    """A filter operator in Python (the query's documented meaning), for related values."""
    blank = value is None or value == ""
    if op == "blank":
        return blank
    if op == "not_blank":
        return not blank
    if op == "ne":
        return value is None or value != arg
    if op == "not_in":
        return value is None or value not in arg
    if value is None:
        return False
    if op == "eq":
        return value == arg
    if op == "in":
        return value in arg
    if op == "between":
        return arg[0] <= value <= arg[1]
    if op == "contains":
        return arg.lower() in value.lower()
    if op == "startswith":
        return value.startswith(arg)
    return {"lt": value < arg, "le": value <= arg, "gt": value > arg, "ge": value >= arg}[op]


PATH_FILTERS: list[tuple[str, str, Any]] = [
    ("shipment.name", "eq", "sh-three"),
    ("shipment.name", "ne", "sh-three"),
    ("shipment.name", "in", ["sh-two", "sh-three"]),
    ("shipment.name", "not_in", ["sh-two", "sh-three"]),
    ("shipment.name", "contains", "t"),
    ("shipment.name", "startswith", "sh-t"),
    ("shipment.name", "blank", None),
    ("shipment.name", "not_blank", None),
    ("shipment.weight", "lt", 30),
    ("shipment.weight", "le", 25),
    ("shipment.weight", "gt", 10),
    ("shipment.weight", "ge", 25),
    ("shipment.weight", "between", [10, 40]),
    ("shipment.weight", "eq", 25),
    ("shipment.weight", "ne", 25),
    ("shipment.weight", "blank", None),
    ("shipment.dealer", "eq", "DB"),
    ("shipment.dealer", "ne", "DA"),
    ("shipment.dealer", "in", ["DB", "DB1"]),
    ("shipment.dealer", "not_blank", None),
    ("shipment.warehouse", "blank", None),
    ("shipment.warehouse", "not_blank", None),
    ("shipment.warehouse.name", "eq", "wh-beta"),
    ("shipment.warehouse.name", "ne", "wh-beta"),
    ("shipment.warehouse.name", "in", ["wh-beta", "wh-delta"]),
    ("shipment.warehouse.name", "not_in", ["wh-alpha"]),
    ("shipment.warehouse.name", "contains", "beta"),
    ("shipment.warehouse.name", "startswith", "wh-g"),
    ("shipment.warehouse.name", "blank", None),
    ("shipment.warehouse.name", "not_blank", None),
    ("shipment.warehouse.dealer", "eq", "DB"),
    ("shipment.warehouse.dealer", "ne", "DB"),
    ("shipment.warehouse.dealer", "blank", None),
    ("shipment.warehouse.dealer", "not_blank", None),
    ("shipment.warehouse.id", "gt", 1),
    ("shipment.warehouse.id", "not_in", [2]),
]


def related_value(world: World, actor: str, order: dict[str, Any], path: str) -> Any:
    """The value a path reads for ``actor``: a step out of their scope is no record."""
    *steps, last = path.split(".")
    forms = {"shipment": "shipment", "warehouse": "warehouse"}
    record: dict[str, Any] | None = order
    record_id: int | None = None
    for step in steps:
        target = record.get(step) if record is not None else None
        form = forms[step]
        if target is None or target not in world.ids(form, actor):
            return None
        record, record_id = world.rows[form][target], target
    assert record is not None
    return record_id if last == "id" else record.get(last)


def test_relation_paths_never_read_related_rows_out_of_scope(world):
    # order -> shipment -> warehouse, each with its own dealer; every related row the
    # actor may not read acts as missing, whatever the operator (blank, ne, not_in...)
    actors = [*DEALERS, "east.user", "fin", "admin"]
    # the data puts rows in scope next to related rows out of scope, at both steps
    da = world.ids("order", "da.boss")
    outside = world.ids("shipment", "da.boss")
    assert any(world.rows["order"][i]["shipment"] not in outside for i in da)
    for flt in PATH_FILTERS:
        path, op, arg = flt
        for actor in actors:
            expected = {
                i
                for i in world.ids("order", actor)
                if holds(op, related_value(world, actor, world.rows["order"][i], path), arg)
            }
            assert world.query_ids(actor, filters=[flt]) == expected, (actor, flt)
    # two paths through the same relation in one query share its join
    both = [("shipment.name", "not_blank", None), ("shipment.warehouse.name", "blank", None)]
    for actor in actors:
        expected = {
            i
            for i in world.ids("order", actor)
            if related_value(world, actor, world.rows["order"][i], "shipment.name")
            and not related_value(world, actor, world.rows["order"][i], "shipment.warehouse.name")
        }
        assert world.query_ids(actor, filters=both) == expected, actor


def test_the_shipment_form_itself_through_its_warehouse(world):
    for actor in (*DEALERS, "east.user", "fin"):
        for flt in PATH_FILTERS:
            if not flt[0].startswith("shipment.warehouse."):
                continue
            path, op, arg = flt[0].removeprefix("shipment."), flt[1], flt[2]
            expected = {
                i
                for i in world.ids("shipment", actor)
                if holds(op, related_value(world, actor, world.rows["shipment"][i], path), arg)
            }
            got = world.query_ids(actor, "shipment", filters=[(path, op, arg)])
            assert got == expected, (actor, path, op)


# -- search -------------------------------------------------------------------------------


def test_search_matches_neither_hidden_fields_nor_rows_out_of_scope(world):
    orders = world.rows["order"]
    # text only in a hidden field (memo, which the title shows too)
    assert len(world.admin_ids(search="memo-zz")) == len(orders)
    for actor in DEALERS:
        assert world.query_ids(actor, search="memo-zz") == set(), actor
        assert world.query_ids(actor, search="zz07") == set(), actor
    # text only in rows out of scope: each order's own name
    for record_id, values in orders.items():
        everything = world.admin_ids(search=values["name"])
        assert record_id in everything
        for actor in READERS:
            assert world.query_ids(actor, search=values["name"]) == everything & world.ids(
                "order", actor
            ), (actor, values["name"])
    # readers who may see memo find it
    assert world.query_ids("east.user", search="memo-zz") == world.ids("order", "east.user")
    # shipments: the hidden secret (also in the title) and other dealers' names
    for actor in DEALERS:
        assert world.query_ids(actor, "shipment", search="hush") == set()
        for record_id, values in world.rows["shipment"].items():
            found = world.query_ids(actor, "shipment", search=values["name"])
            assert found == {record_id} & world.ids("shipment", actor), (actor, values["name"])
    assert len(world.query_ids("east.user", "shipment", search="hush")) == 5


# -- one record: get, history, writes -----------------------------------------------------


def not_found(method: Callable[..., Any], who: Actor, record_id: int, extra: tuple) -> str:
    """The NotFoundError message of ``method`` on a record, with the id left out."""
    call = partial(method, who, "probe", "order", record_id, *extra)
    return refusal(call, NotFoundError).replace(f" {record_id}", " N")


def test_out_of_scope_reads_exactly_like_a_missing_record(world):
    service = world.service
    missing = max(world.rows["order"]) + 1000
    for actor in (*DEALERS, "east.user", "rep.b", "helper.y", "zj.tree", "own.user"):
        who = Actor(actor, locale="en")
        scope = world.ids("order", actor)

        reads: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
            "get": (service.get_record, ()),
            "history": (service.record_history, ()),
        }
        if actor in DEALERS or actor == "east.user":
            reads["update"] = (service.update_record, ({"note": "x"},))
        if actor in DEALERS:
            reads["delete"] = (service.delete_record, ())
        for name, (method, extra) in reads.items():
            expected = not_found(method, who, missing, extra)
            for record_id in set(world.rows["order"]) - scope:
                assert not_found(method, who, record_id, extra) == expected, (actor, name)
        for record_id in scope:
            record = service.get_record(who, "probe", "order", record_id)
            assert record.id == record_id
    # nothing was changed by the refused writes
    for record_id in world.rows["order"]:
        assert service.get_record(Actor("admin"), "probe", "order", record_id).version == 1


def test_a_record_read_in_scope_carries_no_hidden_field(world):
    service = world.service
    for actor in DEALERS:
        for record_id in world.ids("order", actor):
            record = service.get_record(Actor(actor), "probe", "order", record_id)
            values = world.rows["order"][record_id]
            assert "cost" not in record.values and "memo" not in record.values
            assert "cost" not in record.json_values and "memo" not in record.json_values
            assert record.title == values["name"]
            assert "memo" not in str(record.title)
        for record_id in world.ids("shipment", actor):
            record = service.get_record(Actor(actor), "probe", "shipment", record_id)
            assert "secret" not in record.values
            assert "hush" not in str(record.title)
        for record_id in world.ids("warehouse", actor):
            record = service.get_record(Actor(actor), "probe", "warehouse", record_id)
            assert "cost" not in record.values
    page = service.query_records(Actor("da.boss"), "probe", "order", with_subtables=True)
    for record in page.items:
        assert "cost" not in record.values and "memo" not in record.values
        assert "memo" not in str(record.title)
    full = service.get_record(
        Actor("east.user"), "probe", "order", min(world.ids("order", "east.user"))
    )
    assert "cost" in full.values and "memo" in full.title


def test_history_of_a_record_hides_fields_in_every_revision(world):
    service = world.service
    admin = Actor("admin")
    record_id = min(world.ids("order", "da.boss"))
    service.update_record(admin, "probe", "order", record_id, {"memo": "changed-memo"})
    service.update_record(admin, "probe", "order", record_id, {"cost": "1.00", "name": "renamed"})
    full = service.record_history(admin, "probe", "order", record_id)
    assert any("memo" in r.changes for r in full) and all("cost" in r.data for r in full)
    seen = service.record_history(Actor("da.boss"), "probe", "order", record_id)
    assert [r.revision_no for r in seen] == [r.revision_no for r in full]
    for revision in seen:
        assert "cost" not in revision.data and "memo" not in revision.data
        assert "cost" not in revision.changes and "memo" not in revision.changes
        assert "changed-memo" not in repr(revision)
    assert seen[-1].changes["name"]["new"] == "renamed"
    # a deleted record keeps its history for those who could read it
    service.delete_record(admin, "probe", "order", record_id)
    assert len(service.record_history(Actor("da.boss"), "probe", "order", record_id)) == 4
    refusal(
        lambda: service.record_history(Actor("db.boss"), "probe", "order", record_id), NotFoundError
    )


# -- relation pickers and titles ---------------------------------------------------------


def test_relation_candidates_and_display_offer_only_rows_in_scope(world):
    records = world.service.records
    shipments = world.rows["shipment"]
    warehouses = world.rows["warehouse"]
    for actor in (*DEALERS, "east.user", "fin"):
        who = Actor(actor)
        scope = world.ids("shipment", actor)
        found = records.relation_candidates(who, "probe", "order", "shipment", limit=100)
        assert {i for i, _t in found} == scope, actor
        hidden = actor in DEALERS
        for record_id, title in found:
            name = shipments[record_id]["name"]
            secret = shipments[record_id]["secret"]
            assert title == (name if hidden or not secret else f"{name} {secret}"), actor
        shown = records.relation_display(who, "probe", "order", "shipment", list(shipments))
        assert set(shown) == scope, actor
        assert shown == dict(found), actor
        # search in candidates: a hidden field, another dealer's row
        assert records.relation_candidates(who, "probe", "order", "shipment", search="hush") == (
            [] if hidden else [(i, t) for i, t in found if shipments[i]["secret"]]
        )
        for record_id, values in shipments.items():
            named = records.relation_candidates(
                who, "probe", "order", "shipment", search=values["name"]
            )
            assert {i for i, _t in named} == {record_id} & scope, (actor, values["name"])
        # one more step: warehouses (east.user reads none)
        wh_scope = world.ids("warehouse", actor)
        found = records.relation_candidates(who, "probe", "shipment", "warehouse")
        assert {i for i, _t in found} == wh_scope, actor
        shown = records.relation_display(who, "probe", "shipment", "warehouse", list(warehouses))
        assert set(shown) == wh_scope, actor


def test_titles_of_related_records_leave_hidden_fields_out(world):
    records = world.service.records
    order = next(i for i in world.ids("order", "da.boss") if world.rows["order"][i]["shipment"])
    shipment = world.rows["order"][order]["shipment"]
    titles = records.relation_display(Actor("da.boss"), "probe", "order", "shipment", [shipment])
    assert titles == {shipment: world.rows["shipment"][shipment]["name"]}
    admin = records.relation_display(Actor("admin"), "probe", "order", "shipment", [shipment])
    assert "hush" in admin[shipment]


# -- unique clashes ------------------------------------------------------------------------


def test_a_unique_clash_never_names_a_record_out_of_scope(world):
    service = world.service
    da = Actor("da.boss", locale="en")
    before = world.stored()
    for record_id, values in world.rows["order"].items():
        data = {"name": "probe", "code": values["code"], "dealer": "DA"}
        with pytest.raises(RecordValidationError) as caught:
            service.create_record(da, "probe", "order", data)
        [error] = caught.value.errors
        assert error.field == "code"
        if record_id in world.ids("order", "da.boss"):
            assert values["name"] in error.message
        else:
            assert error.message == "unique: code already used by another record"
            assert values["name"] not in error.message and str(record_id) not in error.message
    # the same through an update
    mine = min(world.ids("order", "da.boss"))
    other = min(set(world.rows["order"]) - world.ids("order", "da.boss"))
    with pytest.raises(RecordValidationError) as caught:
        service.update_record(
            da, "probe", "order", mine, {"code": world.rows["order"][other]["code"]}
        )
    assert caught.value.errors[0].message == "unique: code already used by another record"
    assert world.stored() == before


def test_a_unique_clash_names_a_visible_record_without_its_hidden_fields(world):
    da = Actor("da.boss", locale="en")
    mine = min(world.ids("order", "da.boss"))
    values = world.rows["order"][mine]
    with pytest.raises(RecordValidationError) as caught:
        world.service.create_record(da, "probe", "order", {"name": "x", "code": values["code"]})
    assert values["memo"] not in caught.value.errors[0].message


# -- export --------------------------------------------------------------------------------


def test_export_yields_the_export_scope_without_hidden_fields(world):
    service = world.service
    for actor in DEALERS:
        out = list(service.records.export(Actor(actor), "probe", "order", batch=2))
        assert sorted(r.id for r in out) == sorted(world.ids("order", actor)), actor
        for record in out:
            assert "cost" not in record.values and "memo" not in record.values
            assert "memo" not in str(record.title)
        filtered = list(
            service.records.export(Actor(actor), "probe", "order", filters=[("amount", "ge", 100)])
        )
        expected = world.admin_ids(filters=[("amount", "ge", 100)]) & world.ids("order", actor)
        assert {r.id for r in filtered} == expected
        assert list(service.records.export(Actor(actor), "probe", "order", search="memo")) == []
    everything = list(service.records.export(Actor("fin"), "probe", "order"))
    assert len(everything) == len(world.rows["order"]) and "cost" in everything[0].values
    for actor in ("east.user", "rep.a", "plain", "ext.norole"):
        refusal(partial(export_all, service, Actor(actor), "probe", "order"), PermissionDeniedError)


def test_an_export_only_grant_hides_its_fields(world):
    out = list(world.service.records.export(Actor("exporter"), "probe", "order"))
    assert len(out) == len(world.rows["order"])
    for record in out:
        assert "cost" not in record.values and "memo" not in record.values


# -- writes ------------------------------------------------------------------------------


def test_creating_outside_the_create_scope_is_refused_and_writes_nothing(world):
    service = world.service
    cases = [
        ("da.boss", {"dealer": "DB"}),
        ("da.boss", {"dealer": "DB1"}),
        ("da.boss", {}),  # no dealer: nobody's tree
        ("da1.boss", {"dealer": "DA"}),  # the parent's: the tree goes down only
        ("db.boss", {"dealer": "DA1"}),
    ]
    before = world.stored()
    total = len(world.admin_ids())
    for actor, data in cases:
        refusal(
            partial(service.create_record, Actor(actor), "probe", "order", {"name": "n", **data}),
            PermissionDeniedError,
        )
        refusal(
            partial(
                service.create_records, Actor(actor), "probe", "order", [{"name": "n", **data}]
            ),
            PermissionDeniedError,
        )
    # people with read but no create
    for actor in ("east.user", "rep.a", "expr.user", "ext.norole", "plain"):
        refusal(
            partial(service.create_record, Actor(actor), "probe", "order", {"name": "n"}),
            PermissionDeniedError,
        )
    assert world.stored() == before
    assert len(world.admin_ids()) == total
    # within the tree: a parent creates for its sub-dealer
    made = service.create_record(Actor("da.boss"), "probe", "order", {"name": "n", "dealer": "DA1"})
    assert made.id in world.query_ids("da1.boss")


def test_an_update_moving_a_record_out_of_scope_is_refused(world):
    service = world.service
    before = world.stored()
    mine = min(world.ids("order", "da.boss"))
    refusal(
        partial(service.update_record, Actor("da.boss"), "probe", "order", mine, {"dealer": "DB"}),
        PermissionDeniedError,
    )
    dept = min(world.ids("order", "east.user"))
    refusal(
        partial(
            service.update_record, Actor("east.user"), "probe", "order", dept, {"dept": "south"}
        ),
        PermissionDeniedError,
    )
    assert world.stored() == before
    assert service.get_record(Actor("admin"), "probe", "order", mine).values["dealer"] == "DA"


def test_relation_to_a_row_out_of_scope_is_refused_like_a_missing_one(world):
    service = world.service
    da = Actor("da.boss", locale="en")
    outside = min(set(world.rows["shipment"]) - world.ids("shipment", "da.boss"))
    missing = max(world.rows["shipment"]) + 100

    def error(shipment: int) -> str:
        with pytest.raises(RecordValidationError) as caught:
            service.create_record(
                da, "probe", "order", {"name": "n", "dealer": "DA", "shipment": shipment}
            )
        [found] = caught.value.errors
        assert found.field == "shipment"
        return found.message.replace(str(shipment), "N")

    assert error(outside) == error(missing)


def test_hidden_and_read_only_fields_are_refused_with_the_field_named(world):
    service = world.service
    da = Actor("da.boss", locale="en")
    mine = min(world.ids("order", "da.boss"))
    before = world.stored()
    other_review = "pending" if world.rows["order"][mine]["review"] == "approved" else "approved"
    for key, value in (("cost", "1.00"), ("memo", "peek"), ("review", other_review)):
        for call in (
            partial(
                service.create_record,
                da,
                "probe",
                "order",
                {"name": "n", "dealer": "DA", key: value},
            ),
            partial(service.update_record, da, "probe", "order", mine, {key: value}),
        ):
            with pytest.raises(RecordValidationError) as caught:
                call()
            assert [e.field for e in caught.value.errors] == [key]
            assert [e.code for e in caught.value.errors] == ["locked"]
    # even the stored value of a hidden field may not be sent back (it would confirm it)
    stored_memo = world.rows["order"][mine]["memo"]
    with pytest.raises(RecordValidationError) as caught:
        service.update_record(da, "probe", "order", mine, {"memo": stored_memo})
    assert caught.value.errors[0].field == "memo"
    assert world.stored() == before
    # a read-only field sent back unchanged is fine
    review = world.rows["order"][mine]["review"]
    updated = service.update_record(da, "probe", "order", mine, {"review": review, "note": "ok"})
    assert updated.values["note"] == "ok" and "cost" not in updated.values


def test_a_disabled_user_can_neither_read_nor_write(world):
    service = world.service
    mine = min(world.ids("order", "da.boss"))
    assert service.get_record(Actor("da.boss"), "probe", "order", mine).id == mine
    service.org.set_active(SYSTEM_ACTOR, "da.boss", False)
    who = Actor("da.boss")
    before = world.stored()
    calls = [
        partial(service.get_record, who, "probe", "order", mine),
        partial(service.query_records, who, "probe", "order"),
        partial(service.record_history, who, "probe", "order", mine),
        partial(export_all, service, who, "probe", "order"),
        partial(service.records.relation_candidates, who, "probe", "order", "shipment"),
        partial(service.records.relation_display, who, "probe", "order", "shipment", [1]),
        partial(service.create_record, who, "probe", "order", {"name": "n", "dealer": "DA"}),
        partial(service.update_record, who, "probe", "order", mine, {"note": "x"}),
        partial(service.delete_record, who, "probe", "order", mine),
    ]
    for call in calls:
        refusal(call, PermissionDeniedError)
    assert world.stored() == before
    service.org.set_active(SYSTEM_ACTOR, "da.boss", True)
    assert service.get_record(who, "probe", "order", mine).id == mine


# -- administrators and open apps ----------------------------------------------------------


def test_administrators_see_and_write_everything(world):
    service = world.service
    for actor in ("admin", "boss"):
        who = Actor(actor)
        page = service.query_records(who, "probe", "order", page_size=500)
        assert {r.id for r in page.items} == set(world.rows["order"])
        assert all("cost" in r.values and "memo" in r.values for r in page.items)
        assert all(r.values["memo"] in r.title for r in page.items)
        for form in ("shipment", "warehouse"):
            assert world.query_ids(actor, form) == set(world.rows[form])
        assert world.query_ids(actor, filters=[("cost", "gt", "110")]) == {
            i for i, r in world.rows["order"].items() if Decimal(r["cost"]) > 110
        }
        assert world.query_ids(actor, search="memo-zz") == set(world.rows["order"])
        assert len(list(service.records.export(who, "probe", "order"))) == len(world.rows["order"])
        made = service.create_record(
            who, "probe", "order", {"name": "n", "dealer": "DB", "cost": "1"}
        )
        service.update_record(who, "probe", "order", made.id, {"memo": "m", "review": "approved"})
        service.delete_record(who, "probe", "order", made.id)


OPEN_APP = """
app: openapp
version: 1.0.0
name: Open
---
form: note
title: "{{ text }}"
fields:
  text: text
  dealer: dealer
"""


def test_an_app_without_permissions_is_open_to_staff_and_closed_to_dealers(world):
    service = world.service
    service.install_app(SYSTEM_ACTOR, load_app_text(OPEN_APP))
    ids = {
        service.create_record(Actor("plain"), "openapp", "note", {"text": f"t{i}", "dealer": d}).id
        for i, d in enumerate(["DA", "DB", None])
    }
    for actor in ("plain", "east.user", "rep.a", "admin"):
        page = service.query_records(Actor(actor), "openapp", "note")
        assert {r.id for r in page.items} == ids and page.total == 3
    for actor in ("da.boss", "ext.norole"):
        who = Actor(actor)
        for call in (
            partial(service.query_records, who, "openapp", "note"),
            partial(service.get_record, who, "openapp", "note", min(ids)),
            partial(service.record_history, who, "openapp", "note", min(ids)),
            partial(service.create_record, who, "openapp", "note", {"text": "x", "dealer": "DA"}),
            partial(service.update_record, who, "openapp", "note", min(ids), {"text": "x"}),
            partial(export_all, service, who, "openapp", "note"),
        ):
            refusal(call, PermissionDeniedError)


# -- filters and sort on hidden fields ------------------------------------------------------


def twin_app() -> str:
    """The probe app as someone who never had the hidden fields sees it: open, without them."""
    docs = APP.split("\n---\n")
    out = [docs[0].replace("app: probe", "app: twin")]
    for doc in docs[1:]:
        doc = doc.split("permissions:")[0]
        lines = [
            'title: "{{ name }}"' if line.startswith("title:") else line
            for line in doc.splitlines()
            if not line.startswith(("  cost:", "  memo:", "  secret:"))
        ]
        out.append("\n".join(lines) + "\n")
    return "\n---\n".join(out)


HIDDEN_NAMES = [
    ("order", "cost"),
    ("order", "memo"),
    ("order", "mem"),
    ("order", "cots"),
    ("order", "shipment.secret"),
    ("order", "shipment.secrets"),
    ("order", "shipment.warehouse.cost"),
    ("order", "shipment.warehouse.cots"),
    ("shipment", "secret"),
    ("shipment", "warehouse.cost"),
    ("warehouse", "cost"),
]


def test_a_hidden_field_is_refused_like_a_field_that_does_not_exist(world):
    service = world.service
    service.install_app(SYSTEM_ACTOR, load_app_text(twin_app()))
    for locale in ("en", "zh-CN"):
        dealer, staff = Actor("da.boss", locale=locale), Actor("plain", locale=locale)
        for form, name in HIDDEN_NAMES:
            for op, value in (("eq", "1"), ("blank", None), ("contains", "1")):
                flt = [(name, op, value)]
                seen = refusal(
                    partial(service.query_records, dealer, "probe", form, filters=flt),
                    InvalidArgumentError,
                )
                absent = refusal(
                    partial(service.query_records, staff, "twin", form, filters=flt),
                    InvalidArgumentError,
                )
                assert seen == absent, (form, name, op)
            if "." not in name:
                for key in (name, f"-{name}"):
                    seen = refusal(
                        partial(service.query_records, dealer, "probe", form, sort=[key]),
                        InvalidArgumentError,
                    )
                    absent = refusal(
                        partial(service.query_records, staff, "twin", form, sort=[key]),
                        InvalidArgumentError,
                    )
                    assert seen == absent, (form, key)


def test_a_hidden_title_is_refused_without_suggesting_itself(world):
    for call in (
        lambda: world.query_ids("da.boss", filters=[("title", "contains", "ord")]),
        lambda: world.query_ids("da.boss", sort=["-title"]),
    ):
        text = refusal(call, InvalidArgumentError)
        assert "'title'" in text
        assert text.count("title") == 1, text


# -- definitions where a hidden value reaches the actor another way -------------------------

MINI_APP = """
app: mini
version: 1.0.0
name: Mini
roles:
  dealer_user: dealer_user
---
form: part
title: "{{ label }}"
fields:
  label: text
  dealer: dealer
  secret_price: money
list:
  sort: [secret_price]
permissions:
  dealer_user: {can: [read], rows: {dealer_tree: dealer}, fields: {secret_price: hidden}}
---
form: buy
title: "{{ part }} x{{ qty }}"
fields:
  part: {type: relation, to: part, display: label, fill_from: {copied: secret_price}}
  copied: {type: money, readonly: true}
  looked: {type: formula, expr: 'LOOKUP(part, "secret_price")', result: money}
  qty: number
  dealer: {type: dealer, default_expr: "CURRENT_DEALER()"}
permissions:
  dealer_user: {can: [create, read], rows: {dealer_tree: dealer}}
"""


@pytest.fixture
def mini(world):
    service = world.service
    service.install_app(SYSTEM_ACTOR, load_app_text(MINI_APP))
    admin = Actor("admin")
    mine = service.create_record(
        admin, "mini", "part", {"label": "bolt", "dealer": "DA", "secret_price": "9.99"}
    )
    theirs = service.create_record(
        admin, "mini", "part", {"label": "nut-of-B", "dealer": "DB", "secret_price": "1.11"}
    )
    return service, mine.id, theirs.id


def test_mini_app_scopes(mini):
    service, mine, theirs = mini
    da = Actor("da.boss")
    page = service.query_records(da, "mini", "part", sort=["label"])
    assert [r.id for r in page.items] == [mine]
    assert "secret_price" not in page.items[0].values
    assert service.records.relation_display(da, "mini", "buy", "part", [mine, theirs]) == {
        mine: "bolt"
    }


def test_a_default_sort_on_a_hidden_field_still_lists(mini):
    service, mine, _theirs = mini
    page = service.query_records(Actor("da.boss"), "mini", "part")
    assert [r.id for r in page.items] == [mine]


def test_fill_from_and_lookup_do_not_copy_a_hidden_value(mini):
    service, mine, _theirs = mini
    made = service.create_record(Actor("da.boss"), "mini", "buy", {"part": mine, "qty": 1})
    assert made.values.get("copied") is None and made.values.get("looked") is None
    again = service.get_record(Actor("da.boss"), "mini", "buy", made.id)
    assert "9.99" not in repr(again.values)


def test_a_title_does_not_show_a_related_record_out_of_scope(mini):
    service, _mine, theirs = mini
    made = service.create_record(
        Actor("admin"), "mini", "buy", {"part": theirs, "qty": 2, "dealer": "DA"}
    )
    record = service.get_record(Actor("da.boss"), "mini", "buy", made.id)
    assert "nut-of-B" not in str(record.title)
