"""Keys become table names that are unambiguous and fit PostgreSQL's 63-byte limit."""

from __future__ import annotations

from engine.definitions import check_app_text


def _errors(app: str, form: str, fields: str) -> list[str]:
    text = f"app: {app}\nversion: 1.0.0\nname: A\n---\nform: {form}\nfields:\n{fields}"
    return [str(e) for e in check_app_text(text)]


def test_a_double_underscore_in_a_key_is_refused():
    assert _errors("shop", "order__lines", "  qty: number\n") == [
        "app.yaml:5:7 form: 'order__lines' contains '__' "
        "(use single underscores: '__' separates a sub-table's table name from its form's)"
    ]


def test_a_sub_table_whose_table_name_passes_63_bytes_is_refused_on_its_key():
    app, form, sub = "a" * 20, "f" * 30, "s" * 10
    errors = _errors(app, form, f"  {sub}:\n    type: subtable\n    fields:\n      qty: number\n")
    table = f"f_{app}_{form}__{sub}"
    assert len(table) == 65
    assert errors == [
        f"app.yaml:7:3 fields.{sub}: the sub-table's table name {table} is longer than 63 bytes "
        "(shorten the sub-table, form or app key)"
    ]


def test_names_within_the_limit_pass():
    assert (
        _errors("a" * 20, "f" * 30, "  s:\n    type: subtable\n    fields:\n      q: number\n")
        == []
    )
