"""Saved list views: each person's own, checked arguments, one default per form."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.errors import ConflictError, InvalidArgumentError, NotFoundError
from engine.service import Actor

ANNA = Actor("anna", locale="en")
BEN = Actor("ben", locale="en")

SETTINGS = {
    "filters": {"f.rating.from": ["3"], "f.city": ["Hangzhou"]},
    "search": "tea",
    "sort": "-rating",
    "columns": ["name", "rating"],
    "page_size": 50,
}


def test_a_view_is_saved_listed_opened_updated_and_deleted_by_its_owner(purchase, clock):
    views = purchase.saved_views
    saved = views.create(ANNA, "purchase", "supplier", " Good ones ", SETTINGS)
    assert saved.name == "Good ones"
    assert saved.settings == SETTINGS
    assert not saved.is_default
    assert [v.name for v in views.list(ANNA, "purchase", "supplier")] == ["Good ones"]
    assert views.get(ANNA, saved.id).settings["filters"] == {
        "f.rating.from": ["3"],
        "f.city": ["Hangzhou"],
    }

    clock.set(2026, 1, 6, 9, 0)
    changed = views.update(ANNA, saved.id, name="Best", settings={"sort": "name"}, default=True)
    assert (changed.name, changed.settings["sort"], changed.is_default) == ("Best", "name", True)
    assert changed.settings["filters"] == {}
    assert changed.updated_at > saved.updated_at
    assert views.default(ANNA, "purchase", "supplier").id == saved.id

    views.delete(ANNA, saved.id)
    assert views.list(ANNA, "purchase", "supplier") == []
    assert views.default(ANNA, "purchase", "supplier") is None
    with pytest.raises(NotFoundError):
        views.get(ANNA, saved.id)


def test_nobody_else_can_read_change_or_delete_a_view(purchase):
    views = purchase.saved_views
    saved = views.create(ANNA, "purchase", "supplier", "Mine", SETTINGS, default=True)
    assert views.list(BEN, "purchase", "supplier") == []
    assert views.default(BEN, "purchase", "supplier") is None
    with pytest.raises(NotFoundError, match=f"no saved view {saved.id}"):
        views.get(BEN, saved.id)
    with pytest.raises(NotFoundError):
        views.update(BEN, saved.id, name="Stolen")
    with pytest.raises(NotFoundError):
        views.delete(BEN, saved.id)
    # Ben may use the same name for his own view of the form
    own = views.create(BEN, "purchase", "supplier", "Mine", {"sort": "name"})
    assert own.id != saved.id
    assert views.get(ANNA, saved.id).name == "Mine"
    assert views.get(ANNA, saved.id).settings == SETTINGS


def test_one_default_view_per_person_and_form(purchase):
    views = purchase.saved_views
    first = views.create(ANNA, "purchase", "supplier", "First", {}, default=True)
    second = views.create(ANNA, "purchase", "supplier", "Second", {}, default=True)
    other_form = views.create(ANNA, "purchase", "purchase_request", "Requests", {}, default=True)
    assert views.default(ANNA, "purchase", "supplier").id == second.id
    assert not views.get(ANNA, first.id).is_default
    assert views.default(ANNA, "purchase", "purchase_request").id == other_form.id
    views.update(ANNA, first.id, default=True)
    assert views.default(ANNA, "purchase", "supplier").id == first.id
    assert not views.get(ANNA, second.id).is_default


def test_a_repeated_name_is_a_conflict(purchase):
    views = purchase.saved_views
    views.create(ANNA, "purchase", "supplier", "A", {})
    other = views.create(ANNA, "purchase", "supplier", "B", {})
    with pytest.raises(ConflictError, match="already have a view called 'A'"):
        views.create(ANNA, "purchase", "supplier", "A", {})
    with pytest.raises(ConflictError):
        views.update(ANNA, other.id, name="A")


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda v: v.create(ANNA, "purchase", "supplier", "", {}), "name"),
        (lambda v: v.create(ANNA, "purchase", "supplier", 5, {}), "name"),
        (lambda v: v.create(ANNA, "purchase", "supplier", "x" * 101, {}), "name"),
        (lambda v: v.create(ANNA, "purchase", "supplier", "V", []), "settings"),
        (lambda v: v.create(ANNA, "purchase", "supplier", "V", {"colour": 1}), "settings"),
        (
            lambda v: v.create(ANNA, "purchase", "supplier", "V", {"filters": ["a"]}),
            "settings.filters",
        ),
        (
            lambda v: v.create(ANNA, "purchase", "supplier", "V", {"filters": {"f.x": [1]}}),
            "settings.filters['f.x'][0]",
        ),
        (
            lambda v: v.create(ANNA, "purchase", "supplier", "V", {"page_size": "20"}),
            "settings.page_size",
        ),
        (
            lambda v: v.create(ANNA, "purchase", "supplier", "V", {"page_size": 0}),
            "settings.page_size",
        ),
        (
            lambda v: v.create(ANNA, "purchase", "supplier", "V", {"columns": ["no way"]}),
            "settings.columns[0]",
        ),
        (lambda v: v.create(ANNA, "purchase", "supplier", "V", {"sort": 3}), "settings.sort"),
        (lambda v: v.create(ANNA, "purchase", "supplier", "V", {}, default="yes"), "default"),
        (lambda v: v.create(ANNA, "purchase", "no form!", "V", {}), "form_key"),
        (lambda v: v.get(ANNA, "1"), "view_id"),
        (lambda v: v.get(ANNA, True), "view_id"),
        (lambda v: v.update(ANNA, 1.5, name="x"), "view_id"),
        (lambda v: v.delete(None, 1), "actor"),
    ],
)
def test_wrong_arguments_are_refused_with_the_argument_named(purchase, call, argument):
    with pytest.raises(InvalidArgumentError) as refused:
        call(purchase.saved_views)
    assert refused.value.argument == argument
    assert argument.split("[")[0] in str(refused.value)
    assert purchase.saved_views.list(ANNA, "purchase", "supplier") == []


def test_a_view_of_an_unknown_form_is_not_saved(purchase, db):
    with pytest.raises(NotFoundError):
        purchase.saved_views.create(ANNA, "purchase", "nothing", "V", {})
    with db.read() as conn:
        assert conn.execute(sa.text("select count(*) from saved_views")).scalar_one() == 0


def test_setup_lists_the_fields_and_actions_of_an_open_form(purchase):
    setup = purchase.saved_views.setup(ANNA, "purchase", "supplier")
    assert setup.fields == ("name", "city", "rating")
    assert (setup.may_create, setup.may_delete, setup.may_export) == (True, True, True)
