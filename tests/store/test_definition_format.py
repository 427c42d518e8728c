"""Stored definitions carry a format version: every form round-trips through its stored
data, a published version reads back equal, and an unknown format is refused."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.definitions import load_app, load_app_text
from engine.definitions.model import DEFINITION_FORMAT_VERSION, AppDefinition, to_data
from engine.errors import DefinitionFormatError, ServiceError
from engine.service import SYSTEM_ACTOR
from engine.store.definition_data import form_from_data, stored_form
from engine.store.engine_tables import form_versions
from engine.store.publish import latest_version

ROOT = Path(__file__).resolve().parents[2]
#: test modules holding app YAML, and the constants that hold it
TEST_APPS = {
    "tests/conftest.py": ["PURCHASE_APP"],
    "tests/service/test_references.py": ["SHOP_APP"],
    "tests/service/test_file_attachments.py": ["DOCS_APP"],
    "tests/store/test_query.py": ["REGIONS_APP"],
    "tests/bench/_common.py": ["BENCH_APP"],
}


def _test_module_constant(path: str, name: str) -> str:
    spec = importlib.util.spec_from_file_location(f"_apps_{Path(path).stem}", ROOT / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def every_app() -> list[AppDefinition]:
    apps = [load_app(folder) for folder in sorted((ROOT / "examples").iterdir()) if folder.is_dir()]
    for path, names in TEST_APPS.items():
        apps.extend(load_app_text(_test_module_constant(path, name)) for name in names)
    return apps


APPS = every_app()
FORMS = [(app.key, form) for app in APPS for form in app.forms]


def test_the_round_trip_covers_the_examples_and_the_test_apps():
    keys = {app.key for app in APPS}
    assert {"leave", "purchase", "shop"} <= keys
    assert len(FORMS) >= 10


@pytest.mark.parametrize(("app", "form"), FORMS, ids=[f"{a}.{f.key}" for a, f in FORMS])
def test_every_form_reads_back_from_its_stored_data(app, form):
    data = to_data(form)
    again = form_from_data(data)
    assert again.content_hash == form.content_hash
    assert to_data(again) == data
    assert stored_form(data, DEFINITION_FORMAT_VERSION, where=f"{app}.{form.key}") == again


@pytest.mark.parametrize("app", APPS, ids=[a.key for a in APPS])
def test_a_published_version_is_stored_in_the_current_format_and_reads_back_equal(
    make_service, app
):
    service = make_service()
    service.install_app(SYSTEM_ACTOR, app)
    with service._database.read() as conn:
        rows = conn.execute(
            sa.select(form_versions).where(form_versions.c.app == app.key)
        ).mappings()
        stored = {row["form"]: row for row in rows}
        assert set(stored) == {f.key for f in app.forms}
        for form in app.forms:
            row = stored[form.key]
            assert row["format_version"] == DEFINITION_FORMAT_VERSION == 1
            assert row["definition"] == to_data(form)  # the JSON, as the database returns it
            assert row["content_hash"] == form.content_hash
            read = latest_version(conn, app.key, form.key)
            assert read is not None and read.definition.content_hash == form.content_hash


def test_a_newer_format_is_refused_with_a_clear_error(purchase):
    with purchase._database.write() as conn:
        conn.execute(
            form_versions.update()
            .where(form_versions.c.form == "supplier")
            .values(format_version=DEFINITION_FORMAT_VERSION + 1)
        )
    purchase.forget_cached_definitions()
    with pytest.raises(DefinitionFormatError) as caught:
        purchase.get_form(SYSTEM_ACTOR, "purchase", "supplier")
    assert isinstance(caught.value, ServiceError)
    assert str(caught.value) == (
        "form purchase.supplier version 1 is stored in definition format 2, and this engine "
        "reads format 1 only; it was written by a newer version of the engine: upgrade the "
        "engine to read it"
    )
    # the other form of the app is still served
    assert purchase.get_form(SYSTEM_ACTOR, "purchase", "purchase_request").key == (
        "purchase_request"
    )


def test_a_format_no_engine_writes_is_refused():
    with pytest.raises(DefinitionFormatError, match="format 0, .*changed by hand"):
        stored_form({"key": "x", "name": "X"}, 0, where="shop.x version 2")
