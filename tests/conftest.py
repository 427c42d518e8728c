"""Shared fixtures: a database URL on each engine (SQLite file, PostgreSQL), a pinned clock.

PostgreSQL: one throwaway database per test session on the server at
``LOWCODE_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``)
and one schema per test inside it. No server -> the PostgreSQL cases are skipped with the
reason, except under ``CI=true`` where that is a failure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _server_url() -> sa.engine.URL:
    return sa.make_url(os.environ.get("LOWCODE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[sa.engine.URL]:
    """A fresh database on the test server for this session, dropped at the end."""
    server = _server_url()
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("select 1")
    except Exception as exc:
        admin.dispose()
        reason = (
            f"PostgreSQL not reachable at {server.host}:{server.port or 5432}: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0]} "
            "(set LOWCODE_TEST_POSTGRES_URL to point at a server)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"lowcode_test_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def fresh_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, engine: str, name: str = "test.db"
) -> Iterator[str]:
    """An empty database: a SQLite file in ``tmp_path``, or a fresh schema on the session's
    PostgreSQL database (``postgres_database``: skipped with its reason when there is no
    server, a failure under CI=true), dropped afterwards."""
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / name}"
        return
    database: sa.engine.URL = request.getfixturevalue("postgres_database")
    schema = f"t_{secrets.token_hex(6)}"
    admin = sa.create_engine(database, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        url = database.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """An empty database per test: a SQLite file, or a fresh PostgreSQL schema."""
    with fresh_database_url(request, tmp_path, request.param) as url:
        yield url


class Clock:
    """A settable clock for ``Service(clock=...)``: tests pin today's date."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, *args: int) -> None:
        self.now = datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> Clock:
    """2026-01-05 10:00 in Shanghai unless a test moves it."""
    return Clock(datetime(2026, 1, 5, 10, 0, tzinfo=SHANGHAI))


@pytest.fixture
def make_service(database_url: str, clock: Clock, tmp_path) -> Iterator[Callable[..., object]]:
    """Build Services on the test database (engine tables created); disposed at the end."""
    from engine.service import Service

    made: list[Service] = []

    def make(**options: object) -> Service:
        service = Service(database_url, clock=clock, files_dir=tmp_path / "files", **options)
        service.init_database()
        made.append(service)
        return service

    yield make
    for service in made:
        service.close()


PURCHASE_APP = """
app: purchase
version: 1.0.0
name: {zh-CN: 采购, en: Purchasing}
---
form: supplier
name: Supplier
title: "{{ name }}"
fields:
  name:   {type: text, required: true, unique: true}
  city:   {type: text}
  rating: {type: number, precision: 0}
list:
  sort: [name]
---
form: purchase_request
name: Purchase request
title: "{{ serial }}"
fields:
  serial:    {type: serial, pattern: "PR-{YYYYMMDD}-{0000}", reset: day}
  supplier:  {type: relation, to: supplier, display: name, required: true}
  needed_by: {type: date, required: true}
  note:      {type: text}
  lines:
    type: subtable
    fields:
      item:   {type: text, required: true}
      qty:    {type: number, precision: 0, min: 1}
      price:  {type: money}
      amount: {type: formula, expr: "qty * price", result: money}
  total:     {type: formula, expr: "SUM(lines.amount)", result: money}
  quote:     {type: attachment, accept: [pdf, png], max_size: 1KB}
unique:
  - fields: [supplier, needed_by]
"""


@pytest.fixture
def purchase_app_text() -> str:
    """The purchase app's YAML, for tests that derive a changed version from it."""
    return PURCHASE_APP


@pytest.fixture
def purchase_app():
    """Suppliers and purchase requests: serial, relation, date, sub-table, formulas, unique."""
    from engine.definitions import load_app_text

    return load_app_text(PURCHASE_APP)


@pytest.fixture
def purchase(make_service, purchase_app):
    """A Service with the purchase app installed."""
    from engine.service import SYSTEM_ACTOR

    service = make_service()
    service.install_app(SYSTEM_ACTOR, purchase_app)
    return service


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A scratch current folder with no database yet and no LOWCODE_* settings (CLI tests)."""
    for name in ("LOWCODE_DATABASE_URL", "LOWCODE_FILES_DIR", "LOWCODE_USER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def cli(capsys) -> Callable[..., tuple[int, str, str]]:
    """Run ``lowcode ARGS...`` in-process: ``cli("app", "list", stdin="")`` -> (status, out, err)."""
    import io
    import sys

    from engine.cli import main

    def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        old = sys.stdin
        sys.stdin = io.StringIO(stdin)
        try:
            status = main(list(argv))
        finally:
            sys.stdin = old
        out, err = capsys.readouterr()
        return status, out, err

    return run
