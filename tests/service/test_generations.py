"""Definitions stay consistent across processes: a publish elsewhere is seen by the next call."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.service import SYSTEM_ACTOR, Actor, RecordValidationError, load_app_text

ROOT = Path(__file__).resolve().parents[2]
ME = Actor("zhang.wei", locale="en")

APP_V1 = """
app: stock
version: 1.0.0
name: Stock
---
form: item
name: Item
title: "{{ name }}"
fields:
  name: {type: text, required: true}
  qty:  {type: text}
"""
APP_V2 = APP_V1.replace("version: 1.0.0", "version: 1.1.0").replace(
    "qty:  {type: text}", "qty:  {type: number, precision: 0}"
)


def _publish_in_another_process(database_url: str, app_text: str, tmp_path: Path) -> None:
    source = tmp_path / "app.yaml"
    source.write_text(app_text, encoding="utf-8")
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from engine.service import SYSTEM_ACTOR, Service, load_app_text
        service = Service({database_url!r})
        app = load_app_text(Path({str(source)!r}).read_text(encoding="utf-8"))
        print(service.install_app(SYSTEM_ACTOR, app).summary())
        service.close()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "item: published v2" in done.stdout


def test_a_type_change_published_by_another_process_is_used_at_once(
    make_service, database_url, tmp_path
):
    service = make_service()
    service.install_app(SYSTEM_ACTOR, load_app_text(APP_V1))
    service.create_record(ME, "stock", "item", {"name": "bolt", "qty": "12"})
    # this process now caches version 1, where qty is text

    _publish_in_another_process(database_url, APP_V2, tmp_path)

    with pytest.raises(RecordValidationError) as refused:
        service.create_record(ME, "stock", "item", {"name": "nut", "qty": "twelve"})
    assert [e.field for e in refused.value.errors] == ["qty"]
    saved = service.create_record(ME, "stock", "item", {"name": "nut", "qty": "7"})
    assert saved.values["qty"] == 7
    page = service.query_records(ME, "stock", "item", sort="name")
    assert [(r.values["name"], r.values["qty"]) for r in page.items] == [("bolt", 12), ("nut", 7)]
    assert service.get_form(ME, "stock", "item").field("qty").type == "number"


def test_a_read_after_a_publish_elsewhere_uses_the_new_columns(
    make_service, database_url, tmp_path
):
    service = make_service()
    service.install_app(SYSTEM_ACTOR, load_app_text(APP_V1))
    service.create_record(ME, "stock", "item", {"name": "bolt", "qty": "12"})
    assert service.query_records(ME, "stock", "item").items[0].values["qty"] == "12"

    _publish_in_another_process(database_url, APP_V2, tmp_path)

    assert service.query_records(ME, "stock", "item").items[0].values["qty"] == 12
    assert service.query_records(ME, "stock", "item", filters=[("qty", "gt", "10")]).total == 1
