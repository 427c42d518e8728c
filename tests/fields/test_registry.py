from pathlib import Path

import jsonschema
import pytest

from engine.fields import FieldType, UnknownFieldType, all_names, canonical, get, names, registry

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {
    "text", "textarea", "richtext", "number", "money", "percent", "date", "datetime",
    "boolean", "select", "multiselect", "user", "department", "region", "dealer", "relation", "subtable",
    "attachment", "image", "signature", "serial", "formula", "address", "phone", "email", "uscc",
}  # fmt: skip


def test_names_lists_every_canonical_type_once():
    assert set(names()) == EXPECTED
    assert len(names()) == len(EXPECTED)


def test_aliases_resolve_to_their_canonical_type():
    assert canonical("radio") == "select"
    assert canonical("checkbox") == "multiselect"
    assert get("radio") is get("select")
    assert set(all_names()) == EXPECTED | {"radio", "checkbox"}


def test_unknown_type_is_a_key_error_with_a_suggestion():
    with pytest.raises(UnknownFieldType) as caught:
        get("nubmer")
    assert isinstance(caught.value, KeyError)
    assert caught.value.suggestion == "number"
    assert str(caught.value) == "unknown field type 'nubmer' (did you mean 'number'?)"


def test_a_misspelled_alias_suggests_the_canonical_name():
    with pytest.raises(UnknownFieldType) as caught:
        get("radoi")
    assert caught.value.suggestion == "select"


def test_unknown_type_without_a_near_name_has_no_suggestion():
    with pytest.raises(UnknownFieldType) as caught:
        get("zzzzzz")
    assert caught.value.suggestion is None
    assert str(caught.value) == "unknown field type 'zzzzzz'"


def test_registry_is_frozen():
    with pytest.raises(TypeError):
        registry.TYPES["fake"] = get("text")  # type: ignore[index]


def test_every_type_is_a_field_type_whose_name_matches_its_key():
    for name in names():
        assert isinstance(get(name), FieldType)
        assert get(name).name == name


def test_every_type_declares_json_schema_for_its_options():
    for name in names():
        for key, schema in get(name).option_properties.items():
            assert isinstance(schema, dict), f"{name}.{key}"
        for key in get(name).required_options:
            assert key in get(name).option_properties, f"{name} requires undeclared {key}"


def test_option_properties_are_valid_json_schema():
    for name in names():
        schema = {"type": "object", "properties": dict(get(name).option_properties)}
        jsonschema.Draft202012Validator.check_schema(schema)
