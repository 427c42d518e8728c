"""Schema problems, translated into messages a person can act on, at the exact key."""

from __future__ import annotations


def test_unknown_key_points_at_the_key_and_suggests_the_close_one(problems):
    found = problems(
        """
        form: order
        fields:
          qty:
            type: number
            lable: Quantity
        """
    )
    assert found == ["app.yaml:9:5 fields.qty.lable: unknown key 'lable' (did you mean 'label'?)"]


def test_wrong_type_says_what_was_expected(problems):
    found = problems(
        """
        form: order
        fields:
          qty: {type: number, required: sure}
          lines: {type: subtable, min_rows: many, fields: {a: text}}
        """
    )
    assert found == [
        "app.yaml:7:33 fields.qty.required: expected true or false",
        "app.yaml:8:37 fields.lines.min_rows: expected a whole number",
    ]


def test_enum_lists_the_allowed_values(problems):
    found = problems(
        """
        form: order
        fields:
          no_: {type: serial, pattern: "A-{0000}", reset: week}
        """
    )
    assert found == ["app.yaml:7:51 fields.no_.reset: expected one of: never, year, month, day"]


def test_missing_required_key_is_reported_at_the_mapping(problems):
    found = problems(
        """
        form: order
        fields:
          qty: {label: Quantity}
        """
    )
    assert found == ["app.yaml:7:8 fields.qty: missing required key 'type'"]


def test_unknown_field_type_suggests_the_closest_type(problems):
    found = problems(
        """
        form: order
        fields:
          qty: {type: numbr}
          price: monye
        """
    )
    assert found == [
        "app.yaml:7:15 fields.qty.type: unknown field type 'numbr' (did you mean 'number'?)",
        "app.yaml:8:10 fields.price: unknown field type 'monye' (did you mean 'money'?)",
    ]


def test_bilingual_text_with_a_wrong_language_key_reports_that_key_not_every_shape(problems):
    found = problems(
        """
        form: order
        name: {zh-CN: 订单, en_US: Order}
        fields: {a: text}
        """
    )
    assert found == ["app.yaml:6:19 name.en_US: unknown key 'en_US' (allowed keys: zh-CN, en)"]


def test_bilingual_text_of_the_wrong_shape_names_both_accepted_shapes(problems):
    found = problems(
        """
        form: order
        name: [Order]
        fields: {a: text}
        """
    )
    assert found == ["app.yaml:6:7 name: expected text or a mapping"]


def test_layout_columns_above_four_is_out_of_range(problems):
    found = problems(
        """
        form: order
        fields: {a: text}
        layout:
          - {section: Main, columns: 6, fields: [a]}
        """
    )
    assert found == ["app.yaml:8:30 layout[0].columns: expected at most 4"]


def test_app_version_must_be_semver_and_name_is_required():
    from engine.definitions.loader import check_app_text

    found = check_app_text("app: shop\nversion: '1.0'\nrequires: {engine: '1.x'}\n")
    assert [str(e) for e in found] == [
        "app.yaml:1:1 missing required key 'name'",
        "app.yaml:2:10 version: expected a version like 1.2.0",
        "app.yaml:3:20 requires.engine: expected a version requirement like >=1.0",
    ]


def test_several_mistakes_in_one_file_are_all_reported_in_order(problems):
    found = problems(
        """
        form: order
        titel: "{{ qty }}"
        fields:
          qty: {type: number, precision: -1}
          price: {type: money, currency: rmb}
          kind: {type: select, options: []}
        list: {columns: qty}
        """
    )
    assert found == [
        "app.yaml:6:1 titel: unknown key 'titel' (did you mean 'title'?)",
        "app.yaml:8:34 fields.qty.precision: expected at least 0",
        "app.yaml:9:34 fields.price.currency: does not match ^[A-Z]{3}$",
        "app.yaml:10:33 fields.kind.options: the list must not be empty",
        "app.yaml:11:17 list.columns: expected a list",
    ]
