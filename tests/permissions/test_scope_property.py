"""Row scopes against a reference: random organisations, records and grants.

A random organisation (department, region and dealer trees, sales representatives,
internal and external people with random departments, regions, dealers and roles) and
random records of one form are made once per test; hypothesis then draws grants (each
app role: a random set of actions and a random list of row rules), installs them as a
new version of the app and checks, for every person, that the ids ``query_records``
returns are exactly those a plain Python reading of the rules gives (union of the
grants with ``read``; tree scopes hold the node and all below it; ``region`` on a
dealer field reads the dealer's owning region; an actor's departments are the main one
and the others; regions are the main one and those managed), and that ``get_record``
agrees, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.definitions import load_app_text
from engine.errors import NotFoundError, PermissionDeniedError
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor

ROLES = ["ra", "rb", "rc", "rd"]
ACTIONS = ["create", "read", "update", "delete", "export", "import"]
#: rule as YAML -> its key in the reference below
RULES: dict[str, Any] = {
    "all": "all",
    "own": "own",
    "department": {"department": "dept"},
    "department_tree": {"department_tree": "dept"},
    "region": {"region": "region"},
    "region_tree": {"region_tree": "region"},
    "region_dealer": {"region": "dealer"},
    "region_tree_dealer": {"region_tree": "dealer"},
    "dealer": {"dealer": "dealer"},
    "dealer_tree": {"dealer_tree": "dealer"},
    "assigned_owner": {"assigned": "owner"},
    "assigned_helpers": {"assigned": "helpers"},
    "assigned_dealer": {"assigned": "dealer"},
    "expr_amount": {"expr": "amount >= 50"},
    "expr_dealer": {"expr": "dealer == CURRENT_DEALER()"},
    "expr_region": {"expr": "region == CURRENT_REGION() or owner == CURRENT_USER()"},
}


def tree(rng: random.Random, prefix: str, size: int) -> dict[str, str | None]:
    """code -> parent: each node hangs below an earlier one, or is a root."""
    out: dict[str, str | None] = {}
    for i in range(size):
        parent = None if i == 0 or rng.random() < 0.2 else f"{prefix}{rng.randrange(i)}"
        out[f"{prefix}{i}"] = parent
    return out


def below(parents: dict[str, str | None], roots: set[str]) -> set[str]:
    out = set()
    for code in parents:
        node: str | None = code
        while node is not None:
            if node in roots:
                out.add(code)
                break
            node = parents[node]
    return out


@dataclass
class Person:
    login: str
    external: bool
    roles: set[str]
    department: str | None = None
    departments: list[str] = field(default_factory=list)
    region: str | None = None
    managed: set[str] = field(default_factory=set)
    dealer: str | None = None


@dataclass
class Org:
    departments: dict[str, str | None]
    regions: dict[str, str | None]
    dealers: dict[str, str | None]
    dealer_region: dict[str, str | None]
    dealer_rep: dict[str, str | None]
    people: dict[str, Person]

    def yaml(self) -> str:
        internal = [p.login for p in self.people.values() if not p.external]
        managers: dict[str, list[str]] = {r: [] for r in self.regions}
        for p in self.people.values():
            for r in p.managed:
                managers[r].append(p.login)
        users = []
        for p in self.people.values():
            user: dict[str, Any] = {"login": p.login, "name": p.login, "roles": sorted(p.roles)}
            if p.external:
                user.update(kind="external", dealer=p.dealer)
            else:
                if p.department:
                    user.update(department=p.department, departments=p.departments)
                if p.region:
                    user["region"] = p.region
            users.append(user)
        assert internal
        data = {
            "departments": [
                {"code": c, "name": c, **({"parent": p} if p else {})}
                for c, p in self.departments.items()
            ],
            "regions": [
                {"code": c, "name": c, "managers": managers[c], **({"parent": p} if p else {})}
                for c, p in self.regions.items()
            ],
            "dealers": [
                {
                    "code": c,
                    "name": c,
                    **({"parent": p} if p else {}),
                    **({"region": self.dealer_region[c]} if self.dealer_region[c] else {}),
                    **({"sales_rep": self.dealer_rep[c]} if self.dealer_rep[c] else {}),
                }
                for c, p in self.dealers.items()
            ],
            "roles": [{"code": r, "name": r} for r in [*ROLES, "creator", "admin"]],
            "users": users,
        }
        return json.dumps(data)


def random_org(rng: random.Random) -> Org:
    departments = tree(rng, "d", 7)
    regions = tree(rng, "r", 7)
    dealers = tree(rng, "k", 7)
    people: dict[str, Person] = {}
    for i in range(10):
        roles = {r for r in ROLES if rng.random() < 0.35} | {"creator"}
        depts = rng.sample(sorted(departments), rng.choice([0, 1, 1, 2, 3]))
        people[f"u{i}"] = Person(
            f"u{i}",
            False,
            roles,
            depts[0] if depts else None,
            depts,
            rng.choice([None, *regions]),
            set(rng.sample(sorted(regions), rng.choice([0, 0, 1, 2]))),
        )
    for i in range(6):
        roles = {r for r in ROLES if rng.random() < 0.4} | {"creator"}
        people[f"x{i}"] = Person(f"x{i}", True, roles, dealer=rng.choice(sorted(dealers)))
    people["boss"] = Person("boss", False, {"admin", "creator"})
    internal = [p for p in people if not people[p].external]
    return Org(
        departments,
        regions,
        dealers,
        {k: rng.choice([None, *regions]) for k in dealers},
        {k: rng.choice([None, *internal]) for k in dealers},
        people,
    )


def random_items(rng: random.Random, org: Org) -> list[tuple[str, dict[str, Any]]]:
    """(creator, values) of thirty records."""
    logins = sorted(org.people)
    out = []
    for i in range(30):
        values = {
            "label": f"item {i}",
            "amount": rng.choice([None, 0, 10, 49, 50, 51, 99]),
            "dept": rng.choice([None, *org.departments]),
            "region": rng.choice([None, *org.regions]),
            "dealer": rng.choice([None, *org.dealers]),
            "owner": rng.choice([None, *logins]),
            "helpers": rng.sample(logins, rng.choice([0, 0, 1, 2])),
        }
        out.append((rng.choice(logins), values))
    return out


FORM = """
form: item
title: "{{ label }}"
fields:
  label: text
  amount: number
  dept: department
  region: region
  dealer: dealer
  owner: user
  helpers: {type: user, many: true}
list:
  sort: [label]
permissions:
"""


def app_text(version: int, grants: dict[str, tuple[list[str], list[str]]] | None) -> str:
    """The app with ``grants`` on its form; None: no permissions at all (an open form)."""
    head = f"app: prop\nversion: 1.0.{version}\nname: Prop\nroles:\n"
    head += "".join(f"  {r}: {r}\n" for r in [*ROLES, "creator"])
    if grants is None:
        return head + "---\n" + FORM.replace("permissions:\n", "")
    lines = [
        f"  {role}: " + json.dumps({"can": can, "rows": [RULES[r] for r in rows]})
        for role, (can, rows) in grants.items()
    ]
    if not lines:  # a guarded form with no grant at all: keep the section
        lines = ['  creator: {"can": ["import"]}']
    return head + "---\n" + FORM + "\n".join(lines) + "\n"


def reference(
    org: Org, items: dict[int, dict[str, Any]], login: str, grants: dict[str, Any] | None
) -> set[int] | None:
    """Ids ``login`` may read under ``grants``; None when they may read none (refused)."""
    p = org.people[login]
    if "admin" in p.roles:
        return set(items)
    if grants is None:  # an open form: the brand's staff, never a dealer's people
        return None if p.external else set(items)
    held = [g for role, g in grants.items() if role in p.roles and "read" in g[0]]
    if not held:
        return None
    rules = {rule for _can, rows in held for rule in rows}
    if "all" in rules:
        return set(items)
    regions = set(([p.region] if p.region and not p.external else []) + sorted(p.managed))
    current_region = org.dealer_region[p.dealer] if p.external else p.region
    departments = set(p.departments)
    dealer_tree = below(org.dealers, {p.dealer}) if p.dealer else set()

    def dealer_region(code: str | None) -> str | None:
        return org.dealer_region[code] if code else None

    tests: dict[str, Callable[[dict[str, Any]], bool]] = {
        "own": lambda r: r["created_by"] == login,
        "department": lambda r: r["dept"] in departments,
        "department_tree": lambda r: r["dept"] in below(org.departments, departments),
        "region": lambda r: r["region"] in regions,
        "region_tree": lambda r: r["region"] in below(org.regions, regions),
        "region_dealer": lambda r: dealer_region(r["dealer"]) in regions,
        "region_tree_dealer": lambda r: dealer_region(r["dealer"]) in below(org.regions, regions),
        "dealer": lambda r: p.dealer is not None and r["dealer"] == p.dealer,
        "dealer_tree": lambda r: r["dealer"] in dealer_tree,
        "assigned_owner": lambda r: r["owner"] == login,
        "assigned_helpers": lambda r: login in r["helpers"],
        "assigned_dealer": lambda r: (
            r["dealer"] is not None and org.dealer_rep[r["dealer"]] == login
        ),
        "expr_amount": lambda r: r["amount"] is not None and r["amount"] >= 50,
        "expr_dealer": lambda r: p.dealer is not None and r["dealer"] == p.dealer,
        "expr_region": lambda r: (
            (current_region is not None and r["region"] == current_region) or r["owner"] == login
        ),
    }
    return {i for i, r in items.items() if any(tests[rule](r) for rule in rules)}


@dataclass
class Stage:
    service: Any
    org: Org
    items: dict[int, dict[str, Any]]
    version: int = 1


@pytest.fixture(params=[11, 29], ids=["org11", "org29"])
def stage(request, make_service) -> Stage:
    rng = random.Random(request.param)
    org = random_org(rng)
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(org.yaml()))
    # version 1: everybody may create anything, so records are made by random people
    service.install_app(
        SYSTEM_ACTOR, load_app_text(app_text(1, {"creator": (["create", "read"], ["all"])}))
    )
    items: dict[int, dict[str, Any]] = {}
    for creator, values in random_items(rng, org):
        data = {k: v for k, v in values.items() if v not in (None, [])}
        record = service.create_record(Actor(creator), "prop", "item", data)
        items[record.id] = {**values, "created_by": creator}
    return Stage(service, org, items)


GRANT = st.tuples(
    st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=4, unique=True).map(
        lambda can: sorted(set(can) | {"read"}) if len(can) > 2 else can
    ),
    st.lists(st.sampled_from(sorted(RULES)), min_size=1, max_size=3, unique=True).filter(
        lambda rows: "all" not in rows or len(rows) == 1
    ),
)
GRANTS = st.one_of(
    st.dictionaries(st.sampled_from(ROLES), GRANT, max_size=4),
    st.just(None),
)


def test_query_and_get_agree_with_the_reference(stage):
    service, org, items = stage.service, stage.org, stage.items
    logins = sorted(org.people)

    @settings(
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        max_examples=30,
        deadline=None,
        database=None,
    )
    @given(
        grants=GRANTS,
        probes=st.lists(
            st.tuples(st.sampled_from(logins), st.sampled_from(sorted(items))), max_size=6
        ),
    )
    def check(
        grants: dict[str, tuple[list[str], list[str]]] | None, probes: list[tuple[str, int]]
    ) -> None:
        stage.version += 1
        service.install_app(SYSTEM_ACTOR, load_app_text(app_text(stage.version, grants)))
        for login in logins:
            expected = reference(org, items, login, grants)
            if expected is None:
                with pytest.raises(PermissionDeniedError):
                    service.query_records(Actor(login), "prop", "item")
                continue
            page = service.query_records(Actor(login), "prop", "item", page_size=100)
            got = {r.id for r in page.items}
            assert got == expected, (login, grants)
            assert page.total == len(expected)
        for login, record_id in probes:
            expected = reference(org, items, login, grants)
            if expected is None:
                with pytest.raises(PermissionDeniedError):
                    service.get_record(Actor(login), "prop", "item", record_id)
            elif record_id in expected:
                assert service.get_record(Actor(login), "prop", "item", record_id).id == record_id
            else:
                with pytest.raises(NotFoundError):
                    service.get_record(Actor(login), "prop", "item", record_id)

    check()
