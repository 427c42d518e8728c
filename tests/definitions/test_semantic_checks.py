"""Semantic checks: names that must exist, expressions, cycles, identifiers, structure."""

from __future__ import annotations

from engine.definitions.loader import check_app_text


def test_invalid_and_reserved_field_keys_point_at_the_key(problems):
    found = problems(
        """
        form: order
        fields:
          unitPrice: money
          status: text
          a_very_long_field_key_of_more_than_thirty: text
        """
    )
    assert found[0] == (
        "app.yaml:7:3 fields.unitPrice: 'unitPrice' is not a valid field key "
        "(use lower-case letters, digits and _, starting with a letter, e.g. 'unit_price')"
    )
    assert found[1].startswith(
        "app.yaml:8:3 fields.status: 'status' is a reserved system column (choose another key;"
    )
    assert found[2] == (
        "app.yaml:9:3 fields.a_very_long_field_key_of_more_than_thirty: the field key "
        "'a_very_long_field_key_of_more_than_thirty' is longer than 30 characters "
        "(shorten it: keys become table and column names)"
    )
    assert len(found) == 3


def test_invalid_form_and_app_keys():
    found = check_app_text(
        "app: Shop\nversion: 1.0.0\nname: Shop\n---\nform: 1order\nfields: {a: text}\n"
    )
    assert [str(e) for e in found] == [
        "app.yaml:1:6 app: 'Shop' is not a valid app key "
        "(use lower-case letters, digits and _, starting with a letter, e.g. 'shop')",
        "app.yaml:5:7 form: '1order' is not a valid form key "
        "(use lower-case letters, digits and _, starting with a letter)",
    ]


def test_duplicate_form_keys_across_documents_name_the_first_definition(problems):
    found = problems(
        """
        form: order
        fields: {a: text}
        ---
        form: order
        fields: {b: text}
        """
    )
    assert found == [
        "app.yaml:8:7 form: form 'order' is already defined in app.yaml:5 (rename one of them)"
    ]


def test_unknown_field_in_an_expression_points_into_the_expression(problems):
    found = problems(
        """
        form: order
        fields:
          qty: number
          price: money
          amount: {type: formula, expr: "qty * prise", result: money}
          note:
            type: text
            visible_if: >-
              qty > 10 and nothing
        """
    )
    assert found == [
        "app.yaml:9:40 fields.amount.expr: unknown field 'prise' (did you mean 'price'?)",
        "app.yaml:12:17 fields.note.visible_if: unknown field 'nothing'",
    ]


def test_subtable_column_expressions_see_the_row_and_the_parent_form(problems):
    found = problems(
        """
        form: order
        fields:
          discount: percent
          lines:
            type: subtable
            fields:
              qty: number
              price: money
              amount: {type: formula, expr: "qty * price * (1 - discount) + total", result: money}
        """
    )
    assert found == [
        "app.yaml:13:69 fields.lines.fields.amount.expr: unknown field 'total' "
        "(did you mean 'title'?)",
    ]


def test_relation_checks_target_form_display_fill_from_and_filter_scope(problems):
    found = problems(
        """
        form: supplier
        fields:
          name: text
          state: {type: select, options: [active, paused]}
        ---
        form: order
        fields:
          supplier:
            type: relation
            to: supplier
            display: nam
            filter: "state == 'active' and qty > 1"
            fill_from: {contact: name, phone: mobile}
          contact: text
          product: {type: relation, to: prodct}
          qty: number
        """
    )
    assert found == [
        "app.yaml:15:14 fields.supplier.display: unknown field 'nam' in form 'supplier' "
        "(did you mean 'name'?)",
        "app.yaml:16:36 fields.supplier.filter: unknown field 'qty'",
        "app.yaml:17:32 fields.supplier.fill_from.phone: unknown field 'phone'",
        "app.yaml:17:39 fields.supplier.fill_from.phone: unknown field 'mobile' in form 'supplier'",
        "app.yaml:19:33 fields.product.to: unknown form 'prodct'",
    ]


def test_options_from_another_form_check_form_fields_and_filter(problems):
    found = problems(
        """
        form: region
        fields: {code: text, label: text, active: boolean}
        ---
        form: dealer
        fields:
          region:
            type: select
            options: {from: region, value: cod, label: label, filter: "activ"}
          channel: {type: select, options: {from: channels}}
        """
    )
    assert found == [
        "app.yaml:12:36 fields.region.options.value: unknown field 'cod' in form 'region' "
        "(did you mean 'code'?)",
        "app.yaml:12:64 fields.region.options.filter: unknown field 'activ' "
        "(did you mean 'active'?)",
        "app.yaml:13:43 fields.channel.options.from: unknown form 'channels'",
    ]


def test_layout_list_unique_and_validation_names_must_be_fields(problems):
    found = problems(
        """
        form: order
        fields: {qty: number, price: money}
        layout:
          - {section: A, fields: [qty, pric]}
          - {section: B, fields: [qty]}
        list: {columns: [qty, status, colour], sort: [-created_at, -prize]}
        unique:
          - {fields: [qty, nope], message: once}
        validations:
          - {expr: "qty > 0", message: positive, field: quantity}
        """
    )
    assert found == [
        "app.yaml:8:32 layout[0].fields[1]: unknown field 'pric' (did you mean 'price'?)",
        "app.yaml:9:27 layout[1].fields[0]: field 'qty' is placed twice in the layout "
        "(it is already in layout[0]; keep one)",
        "app.yaml:10:31 list.columns[2]: unknown field 'colour'",
        "app.yaml:10:61 list.sort[1]: unknown field 'prize' (did you mean 'price'?)",
        "app.yaml:12:20 unique[0].fields[1]: unknown field 'nope'",
        "app.yaml:14:49 validations[0].field: unknown field 'quantity'",
    ]


def test_cycle_among_formulas_is_reported_with_its_path(problems):
    found = problems(
        """
        form: order
        fields:
          net: money
          total: {type: formula, expr: "net + tax", result: money}
          tax: {type: formula, expr: "total * 0.13", result: money}
        """
    )
    assert found == [
        "app.yaml:8:32 fields.total.expr: computed fields depend on each other: "
        "total -> tax -> total (break the cycle: one of these fields must not use the other)"
    ]


def test_cycle_through_a_subtable_aggregate_is_found(problems):
    found = problems(
        """
        form: order
        fields:
          lines:
            type: subtable
            fields:
              amount: money
              share: {type: formula, expr: "amount / total", result: number}
          total: {type: formula, expr: "SUM(lines.share)", result: money}
        """
    )
    assert found == [
        "app.yaml:11:36 fields.lines.fields.share.expr: computed fields depend on each other: "
        "lines.share -> total -> lines.share "
        "(break the cycle: one of these fields must not use the other)"
    ]


def test_default_expr_takes_part_in_cycles(problems):
    found = problems(
        """
        form: order
        fields:
          a: {type: number, default_expr: "b + 1"}
          b: {type: number, default_expr: "a + 1"}
        """
    )
    assert found == [
        "app.yaml:7:35 fields.a.default_expr: computed fields depend on each other: "
        "a -> b -> a (break the cycle: one of these fields must not use the other)"
    ]


def test_subtable_inside_a_subtable_is_refused(problems):
    found = problems(
        """
        form: order
        fields:
          lines:
            type: subtable
            fields:
              parts: {type: subtable, fields: {name: text}}
        """
    )
    assert found == [
        "app.yaml:10:21 fields.lines.fields.parts.type: sub-tables cannot contain sub-tables "
        "(move 'parts' to the form's fields or make it a separate form)"
    ]


def test_field_type_option_problems_are_located_at_the_option(problems):
    found = problems(
        """
        form: order
        fields:
          qty: {type: number, min: 10, max: 1}
          colour: {type: select, options: [red, blue, red]}
          no_: {type: serial, pattern: "PR-{0000"}
        """
    )
    assert found[0] == "app.yaml:7:28 fields.qty.min: min (10) is greater than max (1)"
    assert found[1].startswith("app.yaml:8:47 fields.colour.options[2]: duplicate value 'red'")
    assert found[2].startswith("app.yaml:9:32 fields.no_.pattern: ")
    assert len(found) == 3


def test_title_template_syntax_and_names_are_checked(problems):
    found = problems(
        """
        form: order
        title: "{{ serial }} {{ custmer }} {{ id }}"
        fields: {serial: {type: serial, pattern: "PR-{0000}"}, customer: text}
        ---
        form: broken
        title: "{{ serial }"
        fields: {serial: text}
        """
    )
    assert found == [
        "app.yaml:6:25 title: unknown field 'custmer' in the title (did you mean 'customer'?)",
        "app.yaml:10:8 title: template syntax error: unexpected '}' (write names as {{ serial }})",
    ]
