"""The outbox through the service, and the total budget of one submission."""

from __future__ import annotations

import textwrap
from datetime import timedelta

import pytest

from engine.service import (
    SYSTEM_ACTOR,
    Actor,
    InvalidArgumentError,
    RecordValidationError,
    load_app_text,
)

ZHANG = Actor("zhang.wei", locale="en")


def test_a_consumer_claims_acknowledges_and_fails_events(purchase, clock):
    for name in ("Acme", "Bolt", "Cord"):
        purchase.create_record(ZHANG, "purchase", "supplier", {"name": name})
    first = purchase.events.claim(SYSTEM_ACTOR, "rules", limit=2)
    assert [e.topic for e in first] == ["record.created", "record.created"]
    assert [e.payload["id"] for e in first] == [1, 2]
    other = purchase.events.claim(SYSTEM_ACTOR, "webhooks", limit=10)
    assert [e.payload["id"] for e in other] == [3]  # the leased ones are not handed out again
    assert purchase.events.acknowledge(SYSTEM_ACTOR, "rules", [first[0].id]) == {first[0].id}
    failed = purchase.events.fail(SYSTEM_ACTOR, "rules", first[1].id, "receiver down")
    assert failed is not None and failed.attempts == 1 and not failed.dead
    assert purchase.events.claim(SYSTEM_ACTOR, "rules") == []  # not due yet
    clock.now = clock.now + timedelta(hours=2)
    again = purchase.events.claim(SYSTEM_ACTOR, "rules")
    assert [e.payload["id"] for e in again] == [2, 3]  # 3's lease ran out as well
    assert again[0].attempts == 1


def test_a_consumer_name_and_batch_size_are_checked(purchase):
    with pytest.raises(InvalidArgumentError, match="consumer"):
        purchase.events.claim(SYSTEM_ACTOR, "")
    with pytest.raises(InvalidArgumentError, match="limit"):
        purchase.events.claim(SYSTEM_ACTOR, "rules", limit=0)


SLOW_APP = textwrap.dedent(
    """
    app: slow
    version: 1.0.0
    name: Slow
    ---
    form: sheet
    name: Sheet
    fields:
      rows:
        type: subtable
        max_rows: 5000
        fields:
          qty: {type: number, precision: 0}
          share: {type: formula, expr: "qty / SUM(rows.qty)", result: number}
    """
)


def test_a_submission_over_its_budget_is_refused_and_writes_nothing(make_service):
    service = make_service(submission_budget=0.05)
    service.install_app(SYSTEM_ACTOR, load_app_text(SLOW_APP))
    rows = [{"qty": n % 7 + 1} for n in range(3000)]
    with pytest.raises(RecordValidationError) as refused:
        service.create_record(ZHANG, "slow", "sheet", {"rows": rows})
    assert [e.code for e in refused.value.errors] == ["budget"]
    assert service.query_records(ZHANG, "slow", "sheet").total == 0
    small = service.create_record(ZHANG, "slow", "sheet", {"rows": rows[:3]})
    assert len(small.values["rows"]) == 3
