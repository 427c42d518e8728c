"""Uploads: streamed to disk with the field's limits, hashed, recorded, usable as a value."""

from __future__ import annotations

import hashlib
import io

import pytest
import sqlalchemy as sa

from engine.errors import RecordValidationError
from engine.service import Actor
from engine.store.engine_tables import files

ZHANG = Actor("zhang.wei")


def test_saved_file_is_on_disk_recorded_and_accepted_as_an_attachment_value(purchase, tmp_path):
    content = b"%PDF-1.4 quote"
    meta = purchase.save_file(
        ZHANG, "purchase", "purchase_request", "quote", "quote.pdf", io.BytesIO(content)
    )
    assert meta["name"] == "quote.pdf" and meta["size"] == len(content)
    assert meta["sha256"] == hashlib.sha256(content).hexdigest()
    assert meta["content_type"] == "application/pdf"
    stored = tmp_path / "files" / "purchase" / "purchase_request" / meta["id"]
    assert stored.read_bytes() == content
    with purchase.database.read() as conn:
        row = conn.execute(sa.select(files)).mappings().one()
    assert row["field"] == "quote" and row["created_by"] == "zhang.wei"
    supplier = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    record = purchase.create_record(
        ZHANG,
        "purchase",
        "purchase_request",
        {"supplier": supplier.id, "needed_by": "2026-02-01", "quote": [meta]},
    )
    assert record.values["quote"][0]["id"] == meta["id"]


def test_a_file_over_the_limit_is_refused_while_streaming_and_leaves_nothing(purchase, tmp_path):
    with pytest.raises(RecordValidationError, match="the limit is 1"):
        purchase.save_file(
            ZHANG, "purchase", "purchase_request", "quote", "big.pdf", io.BytesIO(b"x" * 2048)
        )
    folder = tmp_path / "files" / "purchase" / "purchase_request"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_a_file_with_a_wrong_extension_is_refused(purchase):
    with pytest.raises(RecordValidationError, match="takes pdf, png"):
        purchase.save_file(
            ZHANG, "purchase", "purchase_request", "quote", "run.exe", io.BytesIO(b"MZ")
        )
