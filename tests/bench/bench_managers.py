"""Benchmark: "managers up to level 3" for every user, the engine vs hand-written closure SQL.

Builds an organisation of N users (default 10,000) in a 6-level department tree of
1,504 departments (fan-out 3, 4, 4, 5, 5), loaded through ``service.org.load``: about
9 in 10 departments have a manager (one of their own members, so the chain of a manager
starts at the parent department; some have two), the others none; 1 user in 20 has a
direct leader and 1 in 50 is disabled. Then times, for all N users:

- batch: ONE query for all users, ``org_managers.managers_up_to_of`` (the service has
  no batch call) vs one hand-written query over ``org_department_paths`` with the same
  rules, both given the N logins;
- per user: N calls of ``service.org.managers_up_to`` (a read transaction each, with the
  service's checks) and N calls of the store's ``org_managers.managers_up_to`` (a read
  transaction each) vs N executions of the hand-written query for one login (a
  transaction each).

The engine's answer is checked to equal the hand-written one for every user (assert).
Printed, never asserted against a target.

    python tests/bench/bench_managers.py [--users 10000] [--repeats 3] [--postgres SERVER_URL]
"""

from __future__ import annotations

import argparse
import random
import secrets
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine, paired_medians, paired_once  # noqa: E402

from engine.org.org_file import Department, OrgSnapshot, User  # noqa: E402
from engine.service import SYSTEM_ACTOR, Service  # noqa: E402
from engine.store import org_managers  # noqa: E402

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
LEVEL = 3
#: children per department at each depth: 1 + 3 + 12 + 48 + 240 + 1200 = 1504 departments
FAN_OUT = (3, 4, 4, 5, 5)

_START = """
with start as (
  select u.login as subject, u.leader,
         case when own.login is null then u.department else d.parent end as department
  from org_users u
  left join org_departments d on d.code = u.department
  left join org_department_managers own on own.department = u.department and own.login = u.login
  where {subjects}
)
select s.subject, p.depth + 1 as level, m.login
from start s
join org_department_paths p on p.descendant = s.department and p.depth < :level
join org_department_managers m on m.department = p.ancestor
join org_users mu on mu.login = m.login
where mu.active and (p.depth > 0 or s.leader is null)
union all
select s.subject, 1, s.leader
from start s join org_users lu on lu.login = s.leader
where lu.active
order by 1, 2, 3
"""
HAND_MANY = sa.text(_START.format(subjects="u.login in :logins")).bindparams(
    sa.bindparam("logins", expanding=True)
)
HAND_ONE = sa.text(_START.format(subjects="u.login = :login"))

Triple = tuple[str, int, str]


def organisation(users: int) -> OrgSnapshot:
    """The department tree, its managers and ``users`` users (seeded: the same every run)."""
    rng = random.Random(3)
    departments: list[tuple[str, str | None]] = [("d", None)]
    level = ["d"]
    for fan in FAN_OUT:
        level = [f"{parent}.{k}" for parent in level for k in range(fan)]
        departments += [(code, code.rsplit(".", 1)[0]) for code in level]
    codes = [code for code, _ in departments]
    logins = [f"u{i:05d}" for i in range(users)]
    # every department gets one member first (its manager candidate), the rest at random
    home = {
        login: codes[i] if i < len(codes) else rng.choice(codes) for i, login in enumerate(logins)
    }
    members: dict[str, list[str]] = {}
    for login, code in home.items():
        members.setdefault(code, []).append(login)
    managers: dict[str, tuple[str, ...]] = {}
    for code in codes:
        people = members.get(code, [])
        if not people or rng.random() < 0.1:
            continue  # a department without a manager
        chosen = [people[0]]
        if len(people) > 1 and rng.random() < 0.05:
            chosen.append(people[1])
        managers[code] = tuple(sorted(chosen))
    org_users = []
    for login in logins:
        leader = rng.choice(logins) if rng.random() < 0.05 else None
        org_users.append(
            User(
                login,
                f"User {login}",
                department=home[login],
                departments=(home[login],),
                leader=leader if leader != login else None,
                active=rng.random() >= 0.02,
            )
        )
    return OrgSnapshot(
        departments=tuple(
            Department(code, f"Department {code}", parent, managers.get(code, ()))
            for code, parent in departments
        ),
        users=tuple(org_users),
    )


def run(url: str, users: int, repeats: int) -> tuple[dict[str, tuple[float, float]], str, dict]:
    """(name -> (engine, hand) seconds), the server version and facts about the data."""
    service = Service(url, clock=lambda: NOW)
    service.init_database()
    snapshot = organisation(users)
    start = time.perf_counter()
    service.org.load(SYSTEM_ACTOR, snapshot)
    facts = {
        "load": time.perf_counter() - start,
        "departments": len(snapshot.departments),
        "managed": sum(1 for d in snapshot.departments if d.managers),
    }
    logins = [u.login for u in snapshot.users]
    database = service._database
    engine = database.engine

    def engine_batch() -> list[Triple]:
        with database.read() as conn:
            return org_managers.managers_up_to_of(conn, logins, LEVEL)

    def hand_batch() -> list[Triple]:
        with engine.connect() as conn, conn.begin():
            rows = conn.execute(HAND_MANY, {"logins": logins, "level": LEVEL})
            return [(s, int(lv), m) for s, lv, m in rows]

    def service_each() -> dict[str, list[tuple[int, str]]]:
        return {u: service.org.managers_up_to(SYSTEM_ACTOR, u, LEVEL) for u in logins}

    def store_each() -> dict[str, list[tuple[int, str]]]:
        out = {}
        for login in logins:
            with database.read() as conn:
                out[login] = org_managers.managers_up_to(conn, login, LEVEL)
        return out

    def hand_each() -> dict[str, list[tuple[int, str]]]:
        out = {}
        for login in logins:
            with engine.connect() as conn, conn.begin():
                rows = conn.execute(HAND_ONE, {"login": login, "level": LEVEL})
                out[login] = [(int(lv), m) for _s, lv, m in rows]
        return out

    # the same answer for every user, batch and one by one
    expected = hand_batch()
    assert engine_batch() == expected, "the batch query differs from the hand-written SQL"
    by_user: dict[str, list[tuple[int, str]]] = {login: [] for login in logins}
    for subject, lv, who in expected:
        by_user[subject].append((lv, who))
    assert hand_each() == by_user, "the hand-written SQL differs between batch and one by one"
    assert store_each() == by_user, "org_managers.managers_up_to differs from the hand-written SQL"
    assert service_each() == by_user, "service.org.managers_up_to differs from the hand-written SQL"
    facts["pairs"] = len(expected)
    facts["with_none"] = sum(1 for found in by_user.values() if not found)

    timings = {
        "batch (1 query)": paired_medians(repeats, engine_batch, hand_batch),
        "per user, service": paired_once(repeats, service_each, hand_each),
        "per user, store": paired_once(repeats, store_each, hand_each),
    }
    version = database.server_version()
    database.dispose()
    return timings, version, facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", "--rows", type=int, default=10_000, help="users (10,000)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each side")
    parser.add_argument("--postgres", help="server URL; a throwaway database is created on it")
    args = parser.parse_args()

    results: dict[str, tuple[dict[str, tuple[float, float]], dict]] = {}
    versions: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        timings, version, facts = run(f"sqlite:///{folder}/managers.db", args.users, args.repeats)
        results["sqlite (file, WAL)"] = (timings, facts)
        versions["sqlite"] = version
    if args.postgres:
        server = sa.make_url(args.postgres.replace("postgresql://", "postgresql+psycopg://", 1))
        name = f"lowcode_bench_{secrets.token_hex(4)}"
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            url = server.set(database=name).render_as_string(hide_password=False)
            timings, version, facts = run(url, args.users, args.repeats)
            results["postgresql"] = (timings, facts)
            versions["postgresql"] = version
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()

    print(machine(versions))
    facts = next(iter(results.values()))[1]
    print(
        f"users: {args.users}, departments: {facts['departments']} in 6 levels "
        f"({facts['managed']} with managers), managers up to level {LEVEL}: "
        f"{facts['pairs']} (user, level, manager) rows, {facts['with_none']} users with none; "
        f"engine == hand-written for every user; medians of {args.repeats} alternating runs"
    )
    for label, (timings, facts) in results.items():
        print(f"{label}: service.org.load of the organisation {facts['load']:.1f}s")
        for name, (ours, hand) in timings.items():
            each = "" if name.startswith("batch") else f" ({ours / args.users * 1e6:.0f} µs/user)"
            print(
                f"{label:20} {name:18} engine {ours * 1000:9.1f} ms{each}   hand SQL "
                f"{hand * 1000:9.1f} ms   ratio {ours / hand:5.2f}x"
            )


if __name__ == "__main__":
    main()
