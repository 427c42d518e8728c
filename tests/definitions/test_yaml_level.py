"""Problems found while reading YAML: syntax, duplicate keys, YAML 1.1 booleans, files."""

from __future__ import annotations

import pytest

from engine.definitions import check_app, load_app_text
from engine.definitions.files import MAX_FILE_BYTES
from engine.definitions.loader import check_app_text
from engine.errors import DefinitionErrors


def test_yaml_syntax_error_is_reported_at_the_parsers_line_and_column(problems):
    found = problems(
        """
        form: order
        fields:
          qty: {type: number
          price: money
        """
    )
    assert found == [
        "app.yaml:8:8 YAML syntax error: expected ',' or '}', but got ':' "
        "(while parsing a flow mapping (line 7))"
    ]


def test_duplicate_key_points_at_the_second_key_and_names_the_first_line(problems):
    found = problems(
        """
        form: order
        fields:
          qty: number
          price: money
          qty: text
        """
    )
    assert found == [
        "app.yaml:9:3 fields.qty: duplicate key 'qty' ('qty' is already defined on line 7; keep one)"
    ]


def test_option_value_no_read_as_boolean_is_reported_with_a_hint_to_quote_it(problems):
    found = problems(
        """
        form: order
        fields:
          country:
            type: select
            options:
              - {value: cn, label: China}
              - {value: NO, label: Norway}
        """
    )
    assert found == [
        "app.yaml:11:17 fields.country.options[1].value: False is a boolean, not an option "
        "value (quote it: YAML reads no/yes/on/off as booleans)"
    ]


def test_label_yes_read_as_boolean_asks_to_quote_it(problems):
    found = problems(
        """
        form: survey
        fields:
          agree: {type: boolean, label: yes}
        """
    )
    assert found == [
        "app.yaml:7:33 fields.agree.label: expected text, but YAML reads yes as a boolean "
        '(quote it: "yes")'
    ]


def test_role_key_read_as_boolean_is_an_error():
    found = check_app_text("app: shop\nversion: 1.0.0\nname: Shop\nroles:\n  on: Duty\n")
    assert [str(e) for e in found] == [
        'app.yaml:5:3 roles.on: YAML reads the key on as a boolean (quote it: "on")'
    ]


def test_floats_are_read_as_exact_decimals():
    from decimal import Decimal

    app = load_app_text(
        "app: shop\nversion: 1.0.0\nname: Shop\n---\n"
        "form: order\nfields:\n  price: {type: money, min: 0.10, max: 99999.99}\n"
    )
    options = app.form("order").field("price").options
    assert options["min"] == Decimal("0.10") and str(options["min"]) == "0.10"
    assert isinstance(options["max"], Decimal)


def test_an_empty_extra_document_is_an_error():
    found = check_app_text(
        "app: shop\nversion: 1.0.0\nname: Shop\n---\n---\nform: a\nfields: {x: text}\n"
    )
    assert [str(e) for e in found] == ["app.yaml:5:1 the document is empty (remove the extra ---)"]


def test_a_document_of_unknown_kind_says_which_kinds_exist():
    found = check_app_text("app: shop\nversion: 1.0.0\nname: Shop\n---\nfrom: order\n")
    assert [str(e) for e in found] == [
        "app.yaml:5:1 unknown kind of document (start it with one of: form:, flow:, rule:, machine:, job:, ledger:, dashboard:)"
    ]


def test_text_larger_than_the_file_limit_is_refused_with_a_clear_error():
    text = "app: shop\nversion: 1.0.0\nname: Shop\n#" + "x" * MAX_FILE_BYTES
    with pytest.raises(DefinitionErrors) as raised:
        load_app_text(text)
    assert str(raised.value) == (
        "app.yaml:1:1 the file has 1.0 MB; a definition file may have at most 1 MB "
        "(split it into smaller files)"
    )


def test_folder_without_app_yaml_is_reported(tmp_path):
    (tmp_path / "forms").mkdir()
    assert [str(e) for e in check_app(tmp_path)] == [
        "app.yaml:1:1 the app folder has no app.yaml (create app.yaml with app:)"
    ]


def test_file_that_is_not_utf8_names_the_line_of_the_bad_byte(tmp_path):
    (tmp_path / "app.yaml").write_text("app: shop\nversion: 1.0.0\nname: Shop\n")
    (tmp_path / "forms").mkdir()
    (tmp_path / "forms" / "order.yaml").write_bytes(
        "form: order\nname: 订单\n".encode() + "fields: {a: text}\nx: 名\n".encode("gbk")
    )
    assert [str(e) for e in check_app(tmp_path)] == [
        "forms/order.yaml:4:4 the file is not UTF-8 text (save it with the UTF-8 encoding)"
    ]


def test_form_folder_file_that_is_not_a_form_says_what_was_expected(tmp_path):
    (tmp_path / "app.yaml").write_text("app: shop\nversion: 1.0.0\nname: Shop\n")
    (tmp_path / "forms").mkdir()
    (tmp_path / "forms" / "order.yaml").write_text("app: other\n")
    assert [str(e) for e in check_app(tmp_path)] == [
        "forms/order.yaml:1:1 expected one form (the document must have the key 'form:')"
    ]
