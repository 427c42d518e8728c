"""Attaching uploaded files to records: ownership, the stored metadata, per-column limits."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from engine.errors import RecordValidationError
from engine.service import Actor
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


DOCS_APP = """
app: docs
version: 1.0.0
name: Docs
---
form: claim
name: Claim
fields:
  note:    {type: text}
  receipt: {type: attachment, accept: [pdf, png], max_size: 1KB, max_files: 2}
  photos:  {type: image, min_files: 2, max_files: 3}
  lines:
    type: subtable
    fields:
      item: {type: text}
      scan: {type: attachment, accept: [pdf]}
---
form: other
name: Other
fields:
  receipt: {type: attachment}
"""


@pytest.fixture
def docs(make_service):
    from engine.definitions import load_app_text
    from engine.service import SYSTEM_ACTOR

    service = make_service()
    service.install_app(SYSTEM_ACTOR, load_app_text(DOCS_APP))
    return service


def _upload(service, field="receipt", name="r.pdf", content=PDF, form="claim"):
    return service.save_file(ZHANG, "docs", form, field, name, io.BytesIO(content))


def _claim(service, *, actor=ZHANG_EN, **data):
    return service.create_record(actor, "docs", "claim", data)


def _codes(caught):
    return [(e.field, e.row, e.code) for e in caught.value.errors]


def test_the_stored_metadata_replaces_what_the_client_sent(docs, db):
    meta = _upload(docs)
    forged = {**meta, "name": "other.pdf", "size": 1, "content_type": "x/y", "sha256": "0" * 64}
    record = _claim(docs, receipt=[forged])
    assert record.values["receipt"] == [meta]
    assert docs.get_record(ZHANG, "docs", "claim", record.id).values["receipt"] == [meta]
    with db.read() as conn:
        row = conn.execute(sa.select(files).where(files.c.id == meta["id"])).mappings().one()
    assert row["record_id"] == record.id


def test_unknown_ids_and_files_uploaded_for_another_field_or_form_are_refused(docs):
    scan = _upload(docs, field="lines.scan")
    elsewhere = _upload(docs, form="other")
    fake = {"id": "no-such-file", "name": "x.pdf", "size": 10}
    for value in (fake, scan, elsewhere):
        with pytest.raises(RecordValidationError) as caught:
            _claim(docs, receipt=[value])
        assert _codes(caught) == [("receipt", None, "file")]
    with pytest.raises(RecordValidationError, match="unknown file id"):
        _claim(docs, receipt=[fake])
    with pytest.raises(RecordValidationError, match="uploaded for another field"):
        _claim(docs, receipt=[scan])


def test_a_file_attached_to_one_record_cannot_be_attached_to_another(docs):
    meta, extra = _upload(docs), _upload(docs, name="extra.png", content=PNG)
    first = _claim(docs, receipt=[meta])
    with pytest.raises(RecordValidationError, match="already attached to another record") as c:
        _claim(docs, receipt=[meta])
    assert _codes(c) == [("receipt", None, "file")]
    # the record holding it may keep it, re-send it and add more
    kept = docs.update_record(ZHANG, "docs", "claim", first.id, {"note": "n"})
    assert kept.values["receipt"] == [meta]
    both = docs.update_record(ZHANG, "docs", "claim", first.id, {"receipt": [meta, extra]})
    assert [f["id"] for f in both.values["receipt"]] == [meta["id"], extra["id"]]
    # removing it does not free it: the first record's history still shows it
    docs.update_record(ZHANG, "docs", "claim", first.id, {"receipt": [extra]})
    with pytest.raises(RecordValidationError, match="already attached"):
        _claim(docs, receipt=[meta])
    again = docs.update_record(ZHANG, "docs", "claim", first.id, {"receipt": [meta]})
    assert again.values["receipt"] == [meta]


def test_a_file_listed_twice_is_refused(docs):
    meta = _upload(docs)
    with pytest.raises(RecordValidationError, match="listed twice") as caught:
        _claim(docs, receipt=[meta, meta])
    assert _codes(caught) == [("receipt", None, "file")]


def test_files_in_sub_table_rows_are_checked_per_column(docs):
    scan, receipt = _upload(docs, field="lines.scan"), _upload(docs)
    record = _claim(docs, lines=[{"item": "a", "scan": [{**scan, "name": "forged.pdf"}]}])
    assert record.values["lines"][0]["scan"] == [scan]
    with pytest.raises(RecordValidationError) as caught:
        _claim(docs, lines=[{"item": "b"}, {"item": "c", "scan": [receipt]}])
    assert _codes(caught) == [("lines.scan", 2, "file")]  # rows are 1-based
    assert caught.value.errors[0].message == (
        "file r.pdf was uploaded for another field, not 'scan'; upload it here again"
    )
    assert str(caught.value).startswith("lines[2].scan: file r.pdf was uploaded for another")
    # moving the record's own file to another row is fine
    row_id = record.values["lines"][0]["id"]
    moved = docs.update_record(
        ZHANG,
        "docs",
        "claim",
        record.id,
        {"lines": [{"id": row_id, "scan": None}, {"scan": [scan]}]},
    )
    assert moved.values["lines"][1]["scan"] == [scan]


def test_a_sub_table_upload_uses_the_column_limits(docs):
    with pytest.raises(RecordValidationError, match="只能上传 pdf 格式") as caught:
        _upload(docs, field="lines.scan", name="scan.png", content=PNG)
    assert caught.value.errors[0].field == "lines.scan"


def test_file_count_type_and_size_limits_apply_to_the_value(docs):
    images = [_upload(docs, "photos", f"p{i}.jpg", JPG) for i in range(4)]
    cases = [
        ({"photos": images[:1]}, "files_count"),  # min_files 2
        ({"photos": images}, "files_count"),  # max_files 3
        ({"receipt": [{"id": "x", "name": "run.exe", "size": 1}]}, "file_type"),
        ({"receipt": [{"id": "x", "name": "big.pdf", "size": 4096}]}, "file_size"),
    ]
    for data, code in cases:
        with pytest.raises(RecordValidationError) as caught:
            _claim(docs, **data)
        assert [e.code for e in caught.value.errors] == [code]
    assert len(_claim(docs, photos=images[:2]).values["photos"]) == 2


def test_limits_tightened_after_the_upload_are_checked_on_the_stored_size(docs):
    from engine.definitions import load_app_text
    from engine.service import SYSTEM_ACTOR

    meta = _upload(docs, content=PDF + b"x" * 600)
    smaller = load_app_text(DOCS_APP.replace("max_size: 1KB", "max_size: 500"))
    docs.publish_form(SYSTEM_ACTOR, "docs", smaller.form("claim"))
    with pytest.raises(RecordValidationError) as caught:
        _claim(docs, receipt=[{**meta, "size": 10}])  # the client under-reports the size
    assert _codes(caught) == [("receipt", None, "file_size")]


def test_attachment_errors_are_in_the_actors_language(docs):
    fake = {"id": "no-such-file", "name": "x.pdf", "size": 10}
    texts = {}
    for actor in (ZHANG, ZHANG_EN):
        with pytest.raises(RecordValidationError) as caught:
            _claim(docs, actor=actor, receipt=[fake])
        texts[actor.locale] = [e.message for e in caught.value.errors]
    assert texts == {
        "zh-CN": ["文件 x.pdf 不是已上传的文件（未知的文件 id），请重新上传"],
        "en": ["file x.pdf was not uploaded (unknown file id); upload it again"],
    }
