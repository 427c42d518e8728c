"""The service API driven with generated arguments of the wrong type, size and encoding.

Every public method is called with its arguments replaced by hostile values: wrong types,
huge ints, floats, NaN, text with NUL or lone surrogates, 50,000 characters, nested
lists and dicts. Each call either succeeds or raises an engine error (one line a person
can read, no SQL); nothing else escapes, on SQLite and on PostgreSQL. Afterwards the
database holds exactly what it held before: a refused call writes nothing.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.errors import (
    DefinitionErrors,
    InvalidArgumentError,
    RecordValidationError,
    ServiceError,
)
from engine.service import Actor, Filter, Service
from engine.service import arguments as check

ZHANG = Actor("zhang.wei")
ENGINE_ERRORS = (ServiceError, RecordValidationError, DefinitionErrors)


# Nesting stays at 200 levels and ints under 4300 digits here: hypothesis pretty-prints
# the draws of a failing example, and deeper values or longer ints break its printer
# (RecursionError, ValueError) and hide the failure. test_invalid_arguments.py and the
# CLI tests pass 5,000 and 100,000 levels and a 5,000-digit id explicitly.


def _nested_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def _nested_dict(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"lines": value}
    return value


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([0, -1, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**30, 10**4000]),
    st.floats(),
    st.sampled_from([math.nan, math.inf, -math.inf, 1.6, 1.0, -0.0]),
    st.decimals(),
    st.sampled_from([Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity"), Decimal("1e999999")]),
    st.text(max_size=20),
    st.text(max_size=8).map(lambda t: f"{t}\x00{t}"),
    st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3),
    st.text(max_size=5).map(lambda t: f"{t}\ud800"),
    st.sampled_from(["x" * 50_000, "1 OR 1=1", "1", " 2 ", "-1", "1.6", "", "%", "_", "\\"]),
    st.binary(max_size=10),
    st.builds(object),
)
CONTAINERS = st.one_of(
    st.lists(SCALARS, max_size=4),
    st.tuples(SCALARS, SCALARS),
    st.dictionaries(st.text(max_size=6) | st.integers(), SCALARS, max_size=4),
    st.frozensets(st.integers() | st.text(max_size=4), max_size=3),
    st.sampled_from([_nested_list(200), _nested_dict(200), _nested_list(20)]),
)
HOSTILE = st.one_of(SCALARS, CONTAINERS)
#: values inside record data: HOSTILE in type, encoding, size and nesting, numbers at
#: and far beyond every column's range included (ints of 4300+ digits, 1e28,
#: Decimal('1e999999'), NaN and infinity as relation ids...)
SMALL_NUMBERS = st.one_of(
    st.integers(-(10**12), 10**12),
    st.floats(-1e12, 1e12),
    st.decimals(-(10**12), 10**12, allow_nan=False, allow_infinity=False),
    st.integers(),
    st.floats(),
    st.decimals(),
    st.sampled_from(
        [10**4400, 10**28, 1e28, 1e308, math.nan, math.inf, Decimal("1e999999"), Decimal("NaN")]
    ),
)
VALUE_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    SMALL_NUMBERS,
    st.text(max_size=20),
    st.text(max_size=8).map(lambda t: f"{t}\x00{t}"),
    st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3),
    st.sampled_from(["x" * 50_000, "1 OR 1=1", "1", "", "2026-02-30", "%"]),
    st.binary(max_size=10),
    st.builds(object),
)
VALUES = st.one_of(
    VALUE_SCALARS,
    st.lists(VALUE_SCALARS, max_size=4),
    st.dictionaries(st.text(max_size=6), VALUE_SCALARS, max_size=4),
    st.sampled_from([_nested_list(200), _nested_dict(200), _nested_list(20)]),
)

FIELDS = ["note", "supplier", "needed_by", "total", "serial", "lines", "quote", "id", "title"]
FIELDS += ["supplier.name", "supplier.rating", "lines.qty", "created_at", "version", "status"]
FIELDS += ["name", "city", "rating"]
OPS = ["eq", "ne", "lt", "in", "not_in", "between", "contains", "startswith", "blank", "eq "]
FIELD_OR_HOSTILE = st.sampled_from(FIELDS) | HOSTILE
FILTER = st.one_of(
    HOSTILE,
    st.tuples(FIELD_OR_HOSTILE, st.sampled_from(OPS) | HOSTILE, HOSTILE),
    st.tuples(FIELD_OR_HOSTILE, st.sampled_from(OPS)),
    st.fixed_dictionaries(
        {"field": FIELD_OR_HOSTILE, "op": st.sampled_from(OPS) | HOSTILE},
        optional={"value": HOSTILE, "extra": HOSTILE},
    ),
    st.builds(Filter, FIELD_OR_HOSTILE, st.sampled_from(OPS) | HOSTILE, HOSTILE),
)
DATA = st.one_of(
    HOSTILE,
    st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6) | st.integers(), VALUES),
    st.fixed_dictionaries(
        {"lines": st.lists(st.dictionaries(st.sampled_from(["item", "qty", "price"]), VALUES))}
    ),
)
ACTORS = st.one_of(
    HOSTILE,
    st.builds(Actor, HOSTILE),
    st.builds(Actor, st.just("u"), locale=HOSTILE),
)

#: per argument, what may replace it (HOSTILE unless said otherwise)
SPECIAL = {
    "actor": ACTORS,
    "filters": st.lists(FILTER, max_size=3) | HOSTILE,
    "sort": HOSTILE | st.lists(st.sampled_from(FIELDS) | HOSTILE, max_size=3),
    "data": DATA,
    "changes": DATA,
}


#: the service's own check of each argument a STRICT method takes
PLAUSIBLE: dict[str, Callable[[Any], Any]] = {
    "actor": check.actor_locale,
    "app_key": lambda v: check.check_app_key("en", v),
    "form_key": lambda v: check.check_key("form_key", v, 30, "en"),
    "field_key": lambda v: check.check_field_path("field_key", v, "en"),
    "allow_blank": lambda v: check.check_flag("allow_blank", v, "en"),
    "filename": lambda v: check.check_upload(v, io.BytesIO(), "en"),
    "stream": lambda v: check.check_upload("quote.pdf", v, "en"),
    "app": lambda v: check.check_app_definition(v, "en"),
    "form": lambda v: check.check_form_definition(v, "en"),
}


def _plausible(name: str, value: Any) -> bool:
    """Would ``value`` pass as this argument? (A write must be refused to write nothing.)"""
    try:
        PLAUSIBLE[name](value)
    except InvalidArgumentError:
        return False
    return True


def _calls(app: Any, ids: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Method -> its baseline keyword arguments, which the hostile values replace.

    A write's baseline is refused for a reason no single replacement of another argument
    removes (a stale expected_version, a missing required field), so a hostile call never
    writes; the baselines of publish_form, save_file and install_app would succeed, so
    their replacements must each break an argument (STRICT).
    """
    supplier = app.form("supplier")
    return {
        "create_record": dict(
            actor=ZHANG,
            app_key="purchase",
            form_key="purchase_request",
            data={"note": "missing the supplier and needed_by"},
            source="json",
        ),
        "update_record": dict(
            actor=ZHANG,
            app_key="purchase",
            form_key="supplier",
            record_id=ids["acme"],
            changes={"name": None},
            expected_version=999,
        ),
        "delete_record": dict(
            actor=ZHANG,
            app_key="purchase",
            form_key="supplier",
            record_id=999_999,  # no such record, and a stale version were it there
            expected_version=999,
        ),
        "get_record": dict(
            actor=ZHANG, app_key="purchase", form_key="supplier", record_id=ids["acme"]
        ),
        "query_records": dict(
            actor=ZHANG,
            app_key="purchase",
            form_key="purchase_request",
            filters=[("note", "contains", "x")],
            sort="-total",
            page=1,
            page_size=10,
            search="PR",
            with_total=True,
            with_subtables=False,
        ),
        "record_history": dict(
            actor=ZHANG, app_key="purchase", form_key="supplier", record_id=ids["acme"]
        ),
        "get_form": dict(actor=ZHANG, app_key="purchase", form_key="supplier"),
        "get_app": dict(actor=ZHANG, app_key="purchase"),
        "publish_form": dict(actor=ZHANG, app_key="purchase", form=supplier, allow_blank=False),
        "plan_form_change": dict(actor=ZHANG, app_key="purchase", form=supplier),
        "save_file": dict(
            actor=ZHANG,
            app_key="purchase",
            form_key="purchase_request",
            field_key="quote",
            filename="quote.pdf",
            stream=io.BytesIO(b"%PDF-1.4"),
        ),
        "install_app": dict(actor=ZHANG, app=app, allow_blank=False),
        "explain_permissions": dict(
            actor=ZHANG,
            app_key="purchase",
            form_key="supplier",
            login="zhang.wei",
            record_id=ids["acme"],
        ),
        "open_file": dict(
            actor=ZHANG, app_key="purchase", form_key="purchase_request", file_id="missing"
        ),
    }


#: methods whose baseline call succeeds: every hostile call must break an argument
STRICT = {"publish_form", "save_file", "install_app"}
#: methods that only read: several arguments may be hostile at once
READS = {"get_record", "query_records", "record_history", "get_form", "get_app"}
READS |= {"plan_form_change", "explain_permissions", "open_file"}


def _snapshot(database_url: str, files_dir: Any) -> dict[str, Any]:
    """Every row of every table, and every stored file: what 'nothing written' compares."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            meta = sa.MetaData()
            meta.reflect(conn)
            rows = {
                name: sorted(map(repr, conn.execute(sa.select(table)).all()))
                for name, table in meta.tables.items()
            }
    finally:
        engine.dispose()
    files = sorted(str(p) for p in files_dir.rglob("*")) if files_dir.exists() else []
    return {"rows": rows, "files": files}


@pytest.fixture
def stocked(purchase):
    acme = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    purchase.create_record(
        ZHANG,
        "purchase",
        "purchase_request",
        {"supplier": acme.id, "needed_by": "2026-02-01", "lines": [{"item": "x", "qty": 2}]},
    )
    return purchase, {"acme": acme.id}


def _check_call(call: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    try:
        call(**kwargs)
    except ENGINE_ERRORS as exc:
        text = str(exc)
        assert text and "[SQL:" not in text and "Traceback" not in text
        if isinstance(exc, ServiceError):
            # the argument checks echo a shortened value; the field types' messages
            # (RecordValidationError) still echo the whole value: engine/fields' to fix
            assert len(text) < 1_000, text[:300]
    # anything else propagates and fails the test with the arguments hypothesis found


METHODS = ["create_record", "update_record", "delete_record", "get_record", "query_records"]
METHODS += ["record_history", "get_form", "get_app", "publish_form", "plan_form_change"]
METHODS += ["save_file", "install_app", "explain_permissions", "open_file"]
#: a second run of a method with only some arguments hostile, so that the checks behind
#: the first ones (actor, keys) are reached too: the query's own arguments, record data
FOCUS = {
    "query_records": ["filters", "sort", "page", "page_size", "search"],
    "create_record": ["data"],
    "update_record": ["changes"],
}
CASES = [(m, None) for m in METHODS] + [(m, tuple(names)) for m, names in FOCUS.items()]


def _hostile_run(service: Service, baseline: dict[str, Any], method: str, focus: Any) -> None:
    """Call ``method`` with hostile replacements of its arguments, as hypothesis draws them."""
    names = list(focus or baseline)

    @settings(
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        max_examples=70 if focus else 35,
        deadline=None,
        database=None,
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        kwargs = dict(baseline)
        if method == "save_file":
            kwargs["stream"] = io.BytesIO(b"%PDF-1.4")
        if method in READS or focus:
            chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3))
        else:
            chosen = [data.draw(st.sampled_from(names))]
        for name in chosen:
            value = data.draw(SPECIAL.get(name, HOSTILE), label=f"{method} {name}")
            if method in STRICT:
                assume(not _plausible(name, value))
            kwargs[name] = value
        if focus and method == "update_record":
            # past the version check, into the field types; the required name stays
            # cleared, so the update is refused whatever else the changes hold
            kwargs["expected_version"] = None
            if isinstance(kwargs["changes"], dict):
                kwargs["changes"] = {**kwargs["changes"], "name": None}
        _check_call(getattr(service, method), kwargs)

    run()


def test_hostile_arguments_get_engine_errors_and_write_nothing(
    stocked, purchase_app, database_url, tmp_path
):
    # one database for every method (a fresh one per method doubled the run time on
    # PostgreSQL); each method's run is checked for writes on its own
    service, ids = stocked
    calls = _calls(purchase_app, ids)
    for method, focus in CASES:
        before = _snapshot(database_url, tmp_path / "files")
        _hostile_run(service, calls[method], method, focus)
        after = _snapshot(database_url, tmp_path / "files")
        assert after == before, f"{method} (hostile {focus or 'arguments'}) wrote something"
