"""Serial numbers: allocated in the writing transaction, per period, unique and gap-free."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from engine.errors import RecordValidationError
from engine.service import Actor

ZHANG = Actor("zhang.wei")


def _request(service, supplier_id, needed_by):
    return service.create_record(
        ZHANG, "purchase", "purchase_request", {"supplier": supplier_id, "needed_by": needed_by}
    )


def test_serial_restarts_each_day_in_shanghai_time(purchase, clock):
    supplier = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    first = _request(purchase, supplier.id, "2026-02-01")
    second = _request(purchase, supplier.id, "2026-02-02")
    clock.set(2026, 1, 6, 0, 30)  # 16:30 UTC on the 5th, already the 6th in Shanghai
    third = _request(purchase, supplier.id, "2026-02-03")
    assert [r.values["serial"] for r in (first, second, third)] == [
        "PR-20260105-0001",
        "PR-20260105-0002",
        "PR-20260106-0001",
    ]


def test_a_rejected_record_gives_its_number_back(purchase):
    supplier = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    _request(purchase, supplier.id, "2026-02-01")
    with pytest.raises(RecordValidationError):
        _request(purchase, supplier.id, "2026-02-01")  # unique clash after numbering
    assert _request(purchase, supplier.id, "2026-02-02").values["serial"] == "PR-20260105-0002"


def test_concurrent_creates_get_distinct_gap_free_serials(purchase):
    suppliers = [
        purchase.create_record(ZHANG, "purchase", "supplier", {"name": f"S{i}"}).id
        for i in range(8)
    ]

    def create_many(worker: int) -> list[str]:
        return [
            _request(purchase, suppliers[worker], f"2026-03-{n + 1:02d}").values["serial"]
            for n in range(25)
        ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        serials = [s for batch in pool.map(create_many, range(8)) for s in batch]
    assert len(serials) == 200
    assert sorted(serials) == [f"PR-20260105-{n:04d}" for n in range(1, 201)]
