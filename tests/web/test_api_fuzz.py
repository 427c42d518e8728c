"""Fuzzing the REST API from its own OpenAPI document (schemathesis): every operation,
with data that fits the document and data that does not, as an admin and as a dealer,
is answered without a server error (no 5xx).

The document is loaded from the Flask app (``schemathesis.openapi.from_wsgi``) and the
requests go to the app in-process, so nothing leaves the machine. Each operation gets a
bounded, derandomized number of examples (no shrinking, no example database) so a run
is repeatable and takes well under two minutes on SQLite. A few records, a task and a
file exist first, and integer path parameters also take their ids, so the fuzzing
reaches real records as well as missing ones.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="pip install -e '.[test]'")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from engine.service import SYSTEM_ACTOR, Actor  # noqa: E402

#: examples per operation and generation mode (positive, negative)
EXAMPLES = 12
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
INTEGER_PARAMETERS = ("record_id", "task_id", "instance_id")


@pytest.fixture
def database_url(tmp_path) -> str:
    """SQLite: the fuzzing looks for crashes in the web layer, not database differences
    (test_api.py runs the API on PostgreSQL too)."""
    return f"sqlite:///{tmp_path / 'fuzz.db'}"


@pytest.fixture
def fuzzed(site):
    """(app, tokens by login, ids that exist) with a record of each kind and a task."""
    app, service = site
    product = service.create_record(
        SYSTEM_ACTOR, "orders", "product", {"sku": "P-1", "name": "纸箱", "price": "12.50"}
    )
    for login in ("hz.boss", "gz.boss"):
        service.create_record(
            Actor(login), "orders", "order", {"lines": [{"product": product.id, "qty": 2}]}
        )
    leave = service.flows.submit(
        Actor("wu.gang"),
        "leave",
        "leave_request",
        {
            "leave_type": "annual",
            "start_date": "2027-03-01",
            "end_date": "2027-03-02",
            "reason": "回老家",
        },
    )
    service.save_file(
        Actor("wu.gang"), "leave", "leave_request", "certificate", "a.pdf", io.BytesIO(PDF)
    )
    task = service.flows.tasks(Actor("sun.li")).items[0].id
    tokens = {
        login: service.org.create_token(SYSTEM_ACTOR, login, "fuzz")
        for login in ("admin", "hz.boss")
    }
    return app, tokens, {"record_id": [1, 2, leave.id], "task_id": [task], "instance_id": [1]}


def _strategy(operation: Any, ids: dict[str, list[int]]) -> Any:
    """Cases for ``operation``: fitting and not fitting the document; those with an id
    in their path also with the ids that exist."""
    strategies = [
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    ]
    names = {p.name for p in operation.path_parameters}
    if names & set(INTEGER_PARAMETERS):
        for index in range(max(len(ids[n]) for n in names if n in ids)):
            existing = {n: ids[n][index % len(ids[n])] for n in names if n in ids}
            strategies.append(
                operation.as_strategy(
                    generation_mode=GenerationMode.POSITIVE, path_parameters=existing
                )
            )
    return st.one_of(strategies)


@pytest.mark.parametrize("login", ["admin", "hz.boss"])
def test_no_operation_answers_with_a_server_error(fuzzed, login):
    app, tokens, ids = fuzzed
    auth = {"Authorization": f"Bearer {tokens[login]}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=auth)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20, [o.label for o in operations]
    failures: list[str] = []
    for operation in operations:

        @given(case=_strategy(operation, ids))
        @settings(
            max_examples=EXAMPLES * 2,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
        )
        def fuzz(case: Any) -> None:
            response = case.call(headers=auth)
            case.validate_response(response, checks=[not_a_server_error], headers=auth)

        try:
            fuzz()
        except Exception as failure:  # noqa: BLE001 (every operation's failure reported)
            failures.append(f"{operation.label}: {failure}")
    assert not failures, "\n\n".join(failures)
