"""Installing apps and reading their published forms back."""

from __future__ import annotations

import pytest

from engine.definitions import load_app_text
from engine.errors import NotFoundError
from engine.service import SYSTEM_ACTOR, Service


def test_install_records_the_app_and_publishes_every_form(purchase):
    app = purchase.get_app(SYSTEM_ACTOR, "purchase")
    assert app.version == "1.0.0"
    assert app.name.en == "Purchasing"
    assert app.forms == ("purchase_request", "supplier")
    assert [a.key for a in purchase.list_apps(SYSTEM_ACTOR)] == ["purchase"]


def test_installing_the_same_app_again_changes_nothing(purchase, purchase_app):
    report = purchase.install_app(SYSTEM_ACTOR, purchase_app)
    assert report.previous_version == "1.0.0"
    assert not report.changed
    assert {f.version_no for f in report.forms} == {1}


def test_a_new_service_serves_the_published_form_rebuilt_from_storage(
    purchase, purchase_app, database_url, clock
):
    fresh = Service(database_url, clock=clock)
    try:
        form = fresh.get_form(SYSTEM_ACTOR, "purchase", "purchase_request")
        assert form == purchase_app.form("purchase_request")
        assert form.content_hash == purchase_app.form("purchase_request").content_hash
    finally:
        fresh.close()


def test_upgrading_an_app_publishes_only_the_changed_forms(purchase, purchase_app_text):
    text = purchase_app_text.replace("version: 1.0.0", "version: 1.1.0").replace(
        "  rating: {type: number, precision: 0}",
        "  rating: {type: number, precision: 0}\n  phone:  {type: phone}",
    )
    report = purchase.install_app(SYSTEM_ACTOR, load_app_text(text))
    changed = {f.form: f.version_no for f in report.forms if f.changed}
    assert changed == {"supplier": 2}
    assert purchase.get_app(SYSTEM_ACTOR, "purchase").version == "1.1.0"
    assert purchase.get_form(SYSTEM_ACTOR, "purchase", "supplier").has_field("phone")


def test_unknown_app_lists_the_installed_ones(purchase):
    with pytest.raises(NotFoundError, match="installed: purchase"):
        purchase.get_app(SYSTEM_ACTOR, "sales")
