"""Uploads: streamed to disk outside any transaction with the field's limits, content
checked, hashed, recorded in a short transaction, usable as a value."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine.errors import RecordValidationError
from engine.service import Actor
from engine.service.files import remove_stale_uploads
from engine.store.engine_tables import files

ZHANG = Actor("zhang.wei")  # zh-CN, the default locale
ZHANG_EN = Actor("zhang.wei", locale="en")
PDF = b"%PDF-1.4\n%quote\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPG = b"\xff\xd8\xff\xe0\x00\x10JFIF"
WINDOWS_PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00"


def _file_rows(db):
    with db.read() as conn:
        return conn.execute(sa.select(files)).mappings().all()


def _left_on_disk(tmp_path):
    """Every file under files_dir (partial uploads included)."""
    root = tmp_path / "files"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_saved_file_is_on_disk_recorded_and_accepted_as_an_attachment_value(purchase, tmp_path, db):
    content = PDF + b"x" * 100
    meta = purchase.save_file(
        ZHANG, "purchase", "purchase_request", "quote", "quote.pdf", io.BytesIO(content)
    )
    assert meta["name"] == "quote.pdf" and meta["size"] == len(content)
    assert meta["sha256"] == hashlib.sha256(content).hexdigest()
    assert meta["content_type"] == "application/pdf"
    assert _left_on_disk(tmp_path) == [f"purchase/purchase_request/{meta['id']}"]
    stored = tmp_path / "files" / "purchase" / "purchase_request" / meta["id"]
    assert stored.read_bytes() == content
    (row,) = _file_rows(db)
    assert row["field"] == "quote" and row["created_by"] == "zhang.wei"
    assert row["path"] == f"purchase/purchase_request/{meta['id']}"
    supplier = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    record = purchase.create_record(
        ZHANG,
        "purchase",
        "purchase_request",
        {"supplier": supplier.id, "needed_by": "2026-02-01", "quote": [meta]},
    )
    assert record.values["quote"][0]["id"] == meta["id"]


def test_someone_elses_unattached_upload_cannot_be_taken_into_a_record(purchase):
    meta = purchase.save_file(
        ZHANG, "purchase", "purchase_request", "quote", "quote.pdf", io.BytesIO(PDF)
    )
    other = Actor("li.na")
    supplier = purchase.create_record(other, "purchase", "supplier", {"name": "Acme"})
    values = {"supplier": supplier.id, "needed_by": "2026-02-01", "quote": [meta]}
    with pytest.raises(RecordValidationError) as refused:
        purchase.create_record(other, "purchase", "purchase_request", values)
    assert refused.value.errors[0].field == "quote"
    # the uploader attaches it; once attached, the record's editors keep it as it is
    record = purchase.create_record(ZHANG, "purchase", "purchase_request", values)
    assert record.values["quote"][0]["id"] == meta["id"]


def test_a_file_over_the_limit_is_refused_while_streaming_and_leaves_nothing(
    purchase, tmp_path, db
):
    stream = io.BytesIO(PDF + b"x" * 200_000)
    with pytest.raises(RecordValidationError) as caught:
        purchase.save_file(ZHANG_EN, "purchase", "purchase_request", "quote", "big.pdf", stream)
    (error,) = caught.value.errors
    assert (error.field, error.code) == ("quote", "file_size")
    assert error.message == "big.pdf is 64KB; the limit is 1KB"  # stopped at the first chunk
    assert stream.tell() == 64 * 1024
    assert _left_on_disk(tmp_path) == [] and _file_rows(db) == []


def test_file_errors_are_in_the_actors_language_only(purchase):
    def refusal(actor):
        with pytest.raises(RecordValidationError) as caught:
            purchase.save_file(
                actor, "purchase", "purchase_request", "quote", "run.exe", io.BytesIO(b"x")
            )
        return [(e.code, e.message) for e in caught.value.errors]

    assert refusal(ZHANG) == [("file_type", "run.exe：只能上传 pdf, png 格式的文件")]
    assert refusal(ZHANG_EN) == [("file_type", "run.exe: this field takes pdf, png files")]


# -- uploads stream outside any transaction ----------------------------------------------

BIG_APP = """
app: docs
version: 1.0.0
name: Docs
---
form: claim
name: Claim
fields:
  note:    {type: text}
  receipt: {type: attachment, accept: [pdf, png], max_size: 1MB}
"""


@pytest.fixture
def big(make_service):
    from engine.definitions import load_app_text
    from engine.service import SYSTEM_ACTOR

    service = make_service()
    service.install_app(SYSTEM_ACTOR, load_app_text(BIG_APP))
    return service


SLOW_BODY = PDF.ljust(20_000, b"x")


class SlowStream:
    """An upload of ``body`` arriving in pieces of 1000 bytes, ``delay`` seconds apart.

    ``fail_after`` pieces, the client goes away; ``watch`` is called before every read.
    """

    def __init__(self, body=None, delay=0.1, fail_after=None, watch=None):
        body = SLOW_BODY if body is None else body
        self.pieces = [body[i : i + 1000] for i in range(0, len(body), 1000)]
        self.delay, self.fail_after, self.watch = delay, fail_after, watch
        self.sent = 0
        self.started = threading.Event()

    def read(self, size=-1):
        self.started.set()
        if self.watch:
            self.watch()
        if self.sent == self.fail_after:
            raise ConnectionResetError("the client went away")
        if self.sent == len(self.pieces):
            return b""
        time.sleep(self.delay)
        self.sent += 1
        return self.pieces[self.sent - 1]


def test_a_slow_upload_does_not_hold_the_write_lock(big, tmp_path, db):
    stream = SlowStream(delay=0.1)  # 20 pieces: two seconds of upload
    result = {}

    def upload():
        result["meta"] = big.save_file(ZHANG, "docs", "claim", "receipt", "slow.pdf", stream)

    uploader = threading.Thread(target=upload)
    uploader.start()
    assert stream.started.wait(5)
    time.sleep(0.3)  # well into the upload
    began = time.monotonic()
    record = big.create_record(ZHANG, "docs", "claim", {"note": "meanwhile"})
    took = time.monotonic() - began
    still_streaming = stream.sent < len(stream.pieces)
    uploader.join(10)
    assert record.values["note"] == "meanwhile"
    assert still_streaming, f"the create waited for the upload ({took:.2f} s)"
    assert took < 1.0
    meta = result["meta"]
    assert (meta["size"], meta["sha256"]) == (20_000, hashlib.sha256(SLOW_BODY).hexdigest())
    assert (tmp_path / "files" / "docs" / "claim" / meta["id"]).read_bytes() == SLOW_BODY
    assert [r["name"] for r in _file_rows(db)] == ["slow.pdf"]


def test_an_interrupted_upload_leaves_no_partial_file(big, tmp_path, db):
    stream = SlowStream(delay=0, fail_after=15)
    with pytest.raises(ConnectionResetError):
        big.save_file(ZHANG, "docs", "claim", "receipt", "cut.pdf", stream)
    assert stream.sent == 15
    assert _left_on_disk(tmp_path) == [] and _file_rows(db) == []


def test_a_program_is_refused_before_any_of_it_reaches_the_disk(big, tmp_path):
    seen = []
    stream = SlowStream(
        WINDOWS_PROGRAM.ljust(20_000, b"\x00"),
        delay=0,
        watch=lambda: seen.append(sum(len(x) for x in _contents(tmp_path))),
    )
    with pytest.raises(RecordValidationError) as caught:
        big.save_file(ZHANG, "docs", "claim", "receipt", "setup.pdf", stream)
    assert [e.code for e in caught.value.errors] == ["file_type"]
    assert stream.sent == 9  # refused once the first 8 KB were in
    assert set(seen) == {0}
    assert _left_on_disk(tmp_path) == []


def _contents(tmp_path):
    return [p.read_bytes() for p in (tmp_path / "files").rglob("*.part")]


def test_a_failed_insert_leaves_no_file(big, tmp_path, db):
    with db.write() as conn:
        conn.execute(sa.text("DROP TABLE files"))
    with pytest.raises(sa.exc.DatabaseError):
        big.save_file(ZHANG, "docs", "claim", "receipt", "r.pdf", io.BytesIO(PDF))
    assert _left_on_disk(tmp_path) == []


def test_remove_stale_uploads_deletes_only_old_partial_files(tmp_path):
    incoming = tmp_path / ".incoming"
    incoming.mkdir()
    old, fresh, other = incoming / "a.part", incoming / "b.part", incoming / "notes.txt"
    for path in (old, fresh, other):
        path.write_bytes(b"x")
    two_hours_ago = time.time() - 7200
    for path in (old, other):
        os.utime(path, (two_hours_ago, two_hours_ago))
    assert remove_stale_uploads(tmp_path, timedelta(hours=1)) == [old]
    assert sorted(p.name for p in incoming.iterdir()) == ["b.part", "notes.txt"]
    assert remove_stale_uploads(tmp_path / "nowhere", timedelta(hours=1)) == []


# -- content and names --------------------------------------------------------------------


def test_a_program_named_pdf_is_refused_by_its_content(purchase, tmp_path, db):
    def refusal(actor):
        with pytest.raises(RecordValidationError) as caught:
            purchase.save_file(
                actor,
                "purchase",
                "purchase_request",
                "quote",
                "quote.pdf",
                io.BytesIO(WINDOWS_PROGRAM),
            )
        return [(e.field, e.code, e.message) for e in caught.value.errors]

    assert refusal(ZHANG_EN) == [
        (
            "quote",
            "file_type",
            "quote.pdf is a Windows program; programs and scripts cannot be uploaded",
        )
    ]
    assert refusal(ZHANG) == [
        ("quote", "file_type", "quote.pdf 的内容是Windows 可执行程序，不能上传程序或脚本")
    ]
    assert _left_on_disk(tmp_path) == [] and _file_rows(db) == []


def test_content_that_is_not_the_declared_type_is_refused_naming_what_it_looks_like(purchase):
    with pytest.raises(RecordValidationError) as caught:
        purchase.save_file(
            ZHANG_EN, "purchase", "purchase_request", "quote", "scan.pdf", io.BytesIO(PNG)
        )
    assert [e.message for e in caught.value.errors] == [
        "scan.pdf is not a PDF document: its content looks like a PNG image; "
        "upload the original file or correct its extension"
    ]


def test_the_stored_content_type_is_the_detected_one(purchase, db):
    meta = purchase.save_file(
        ZHANG, "purchase", "purchase_request", "quote", "Scan.PNG", io.BytesIO(PNG)
    )
    assert meta["content_type"] == "image/png"
    assert _file_rows(db)[0]["content_type"] == "image/png"


@pytest.mark.parametrize(
    "name",
    ["quote\x00.pdf", "quote\n.pdf", "a\rb.pdf", "\ud800quote.pdf", "q" * 252 + ".pdf"],
    ids=["nul", "newline", "carriage-return", "lone-surrogate", "256-characters"],
)
def test_unusable_file_names_are_refused_on_both_databases(purchase, tmp_path, name, db):
    with pytest.raises(RecordValidationError) as caught:
        purchase.save_file(ZHANG_EN, "purchase", "purchase_request", "quote", name, io.BytesIO(PDF))
    assert [(e.field, e.code) for e in caught.value.errors] == [("quote", "file_name")]
    assert "rename" in caught.value.errors[0].message or "shorten" in caught.value.errors[0].message
    assert _left_on_disk(tmp_path) == [] and _file_rows(db) == []


def test_a_255_character_name_is_stored_whole(purchase, db):
    name = "报" * 251 + ".pdf"
    meta = purchase.save_file(ZHANG, "purchase", "purchase_request", "quote", name, io.BytesIO(PDF))
    assert _file_rows(db)[0]["name"] == name == meta["name"]


@pytest.mark.parametrize("sent", ["C:\\fakepath\\quote.pdf", "../../quote.pdf", "/etc/quote.pdf"])
def test_directory_parts_of_a_name_are_dropped(purchase, tmp_path, sent):
    meta = purchase.save_file(ZHANG, "purchase", "purchase_request", "quote", sent, io.BytesIO(PDF))
    assert meta["name"] == "quote.pdf"
    assert _left_on_disk(tmp_path) == [f"purchase/purchase_request/{meta['id']}"]


# -- attachment values are checked against the files table ------------------------------


def test_the_file_service_leaves_all_sql_to_the_store():
    import ast
    from pathlib import Path

    import engine.service.files as module

    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}  # fmt: skip
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name and name.split(".")[0] == "sqlalchemy"}
    assert "engine.store.files" in imported or "engine.store" in imported


def test_remove_unrecorded_files_deletes_old_files_no_row_names(big, tmp_path, db):
    from engine.service.files import remove_unrecorded_files

    meta = big.save_file(ZHANG, "docs", "claim", "receipt", "kept.pdf", io.BytesIO(PDF))
    folder = tmp_path / "files" / "docs" / "claim"
    orphan = folder / "0b7d4c1e-6a4f-4b8e-9a59-2f4f0c1d2e3a"  # moved, then the commit was lost
    recent = folder / "5c3e9a0d-1f2b-4c6d-8e7f-901a2b3c4d5e"
    stray = folder / "readme.txt"  # not a name store_file writes
    for path in (orphan, recent, stray):
        path.write_bytes(PDF)
    two_hours_ago = time.time() - 7200
    for path in (orphan, stray, folder / meta["id"]):
        os.utime(path, (two_hours_ago, two_hours_ago))
    assert remove_unrecorded_files(db, tmp_path / "files", timedelta(hours=1)) == [orphan]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [meta["id"], recent.name, "readme.txt"]
    )
