import pytest

from engine.fields import FieldValueError, get

select, multiselect = get("select"), get("multiselect")
PRIORITY = [
    {"value": "normal", "label": {"zh-CN": "普通", "en": "Normal"}},
    {"value": "urgent", "label": {"zh-CN": "紧急", "en": "Urgent"}, "color": "red"},
]


def test_select_takes_an_option_value(make_field):
    assert select.coerce(make_field("select", options=PRIORITY), "urgent") == "urgent"


def test_excel_import_may_give_the_label_instead_of_the_value(make_field):
    field = make_field("select", options=PRIORITY)
    assert select.coerce(field, "紧急", "excel") == "urgent"
    assert select.coerce(field, "urgent ", "excel") == "urgent"
    assert select.coerce(field, "URGENT", "web") == "urgent"


def test_plain_option_values_are_text(make_field):
    field = make_field("select", options=[1, 2, 3])
    assert select.coerce(field, 2, "excel") == "2"
    assert select.value_schema(field) == {"type": "string", "enum": ["1", "2", "3"]}


def test_a_value_outside_the_options_names_the_options(make_field):
    with pytest.raises(FieldValueError) as caught:
        select.coerce(make_field("select", options=PRIORITY), "later")
    assert caught.value.code == "option"
    assert "'later' is not one of the options (normal, urgent)" in caught.value.message


def test_options_from_another_form_accept_any_value_for_the_runtime_to_check(make_field):
    field = make_field("select", options={"from": "region", "value": "code", "label": "name"})
    assert select.coerce(field, "east") == "east"
    assert select.check_options(field) == []
    assert select.display(field, "east") == "east"


def test_select_display_shows_the_label_in_the_locale(make_field):
    field = make_field("select", options=PRIORITY)
    assert select.display(field, "urgent") == "紧急"
    assert select.display(field, "urgent", "en") == "Urgent"


def test_duplicate_option_values_are_reported_with_their_index(make_field):
    field = make_field("select", options=["a", "b", "c", "a"])
    problems = select.check_options(field)
    assert [(p.path, p.message) for p in problems] == [
        ("options[3]", "duplicate value 'a' (also options[0])")
    ]


def test_yaml_booleans_in_options_get_a_quote_it_hint(make_field):
    field = make_field("select", options=["CN", False, {"value": True, "label": "Yes"}])
    problems = select.check_options(field)
    assert [p.path for p in problems] == ["options[1]", "options[2].value"]
    assert problems[0].hint == "quote it: YAML reads no/yes/on/off as booleans"


def test_options_mapping_needs_a_source_form(make_field):
    problems = select.check_options(make_field("select", options={"value": "code"}))
    assert [p.path for p in problems] == ["options.from"]


def test_radio_and_select_share_a_string_column(make_field):
    column = get("radio").columns(make_field("select", options=PRIORITY))[0]
    assert (column.kind, column.indexed) == ("string", True)


def test_multiselect_takes_a_list_and_drops_repeats(make_field):
    field = make_field("multiselect", options=PRIORITY)
    assert multiselect.coerce(field, ["urgent", "normal", "urgent"]) == ["urgent", "normal"]
    assert multiselect.columns(field)[0].kind == "json"


def test_multiselect_splits_spreadsheet_text_on_commas(make_field):
    field = make_field("multiselect", options=PRIORITY)
    assert multiselect.coerce(field, "紧急，普通", "excel") == ["urgent", "normal"]
    assert multiselect.coerce(field, "normal、urgent", "web") == ["normal", "urgent"]


def test_multiselect_counts_the_selection(make_field):
    field = make_field("multiselect", options=["a", "b", "c"], min_selected=2, max_selected=2)
    with pytest.raises(FieldValueError) as caught:
        multiselect.coerce(field, ["a"])
    assert caught.value.code == "selected_count"
    with pytest.raises(FieldValueError):
        multiselect.coerce(field, ["a", "b", "c"])
    assert multiselect.coerce(field, ["a", "c"]) == ["a", "c"]


def test_multiselect_display_joins_labels(make_field):
    field = make_field("multiselect", options=PRIORITY)
    assert multiselect.display(field, ["normal", "urgent"]) == "普通、紧急"
    assert multiselect.display(field, ["normal", "urgent"], "en") == "Normal, Urgent"


def test_multiselect_bounds_check(make_field):
    field = make_field("multiselect", options=["a"], min_selected=3, max_selected=1)
    assert [p.path for p in multiselect.check_options(field)] == ["min_selected"]
