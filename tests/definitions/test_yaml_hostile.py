"""Hostile or broken YAML: every input ends in located errors, never a crash or a hang."""

from __future__ import annotations

import pytest

from engine.definitions.files import MAX_FILE_BYTES
from engine.definitions.loader import check_app_text
from engine.definitions.yaml_reader import MAX_ERRORS, read_documents


def test_nesting_deeper_than_64_levels_is_refused_where_the_65th_level_starts():
    # the document's mapping is level 1, so the 64th [ is level 65
    text = "x: " + "[" * 600 + "]" * 600 + "\n"
    assert [str(e) for e in check_app_text(text)] == [
        "app.yaml:1:67 the values are nested more than 64 levels deep "
        "(a definition never needs this; flatten the structure)"
    ]


def test_deeply_nested_block_mappings_are_refused():
    text = "".join("  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100 + "1\n"
    assert [str(e) for e in check_app_text(text)] == [
        "app.yaml:65:129 the values are nested more than 64 levels deep "
        "(a definition never needs this; flatten the structure)"
    ]


def test_64_levels_are_still_read():
    sources, errors = read_documents("x: " + "[" * 63 + "]" * 63 + "\n", "a.yaml")
    assert errors == []
    value = sources[0].data["x"]
    for _level in range(62):
        value = value[0]
    assert value == []


def test_aliases_nesting_past_the_limit_are_refused_at_the_deepest_value():
    text = "a: &a " + "[" * 40 + "]" * 40 + "\nb: " + "[" * 30 + "*a" + "]" * 30 + "\n"
    sources, errors = read_documents(text, "a.yaml")
    assert [str(e) for e in errors] == [
        # the document (1), b's 30 lists, then the 34th list of a: line 1 of the anchor
        "a.yaml:1:40 b" + "[0]" * 63 + ": the values are nested more than 64 levels deep "
        "(a definition never needs this; flatten the structure)"
    ]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("x: &a [*a]\n", "1:8"),
        ("x: &a {y: *a}\n", "1:11"),
        ("x: &a {<<: *a}\n", "1:12"),
        ("x: &a [1, [2, {z: *a}]]\n", "1:19"),
    ],
)
def test_an_alias_inside_its_own_anchor_is_refused_at_the_alias(text, where):
    assert [str(e) for e in check_app_text(text)] == [
        f"app.yaml:{where} the alias *a is inside the value of its own anchor "
        "(an alias can only repeat a value that is complete)"
    ]


def test_a_recursion_error_while_building_is_a_file_error(monkeypatch):
    from engine.definitions import yaml_reader

    def recurse(*args, **kwargs):
        raise RecursionError

    monkeypatch.setattr(yaml_reader._DocumentBuilder, "value", recurse)
    assert [str(e) for e in read_documents("a: 1\n", "a.yaml")[1]] == [
        "a.yaml:1:1 the document is nested too deeply to be read "
        "(a definition never needs this; flatten the structure)"
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("!!int abc", "cannot read !!int 'abc' (correct the value or remove the tag)"),
        ("!!float abc", "cannot read !!float 'abc' (correct the value or remove the tag)"),
        ("!!bool maybe", "cannot read !!bool 'maybe' (correct the value or remove the tag)"),
        ("!!timestamp abc", "cannot read !!timestamp 'abc' (correct the value or remove the tag)"),
        ("!!binary 'x'", "cannot read !!binary 'x' (correct the value or remove the tag)"),
        (
            "!!python/object:os.system x",
            "the tag !!python/object:os.system is not allowed (remove it)",
        ),
        ("!custom x", "the tag !custom is not allowed (remove it)"),
        (
            "!!python/object:os.system {a: 1}",
            "the tag !!python/object:os.system is not allowed (remove it)",
        ),
    ],
)
def test_a_bad_explicit_tag_is_an_error_at_the_value(problems, value, message):
    found = problems(
        f"""
        form: order
        fields:
          qty: {{type: text, label: {value}}}
        """
    )
    assert found == [f"app.yaml:7:28 fields.qty.label: {message}"]


def test_an_integer_too_long_for_python_is_an_error_with_the_value_shortened():
    _sources, errors = read_documents("n: " + "1" * 5000 + "\n", "a.yaml")
    assert [str(e) for e in errors] == [
        "a.yaml:1:4 n: cannot read !!int '" + "1" * 37 + "...' "
        "(correct the value or remove the tag)"
    ]


@pytest.mark.parametrize(
    ("bound", "column"), [(".nan", 38), (".inf", 38), ("-.inf", 38), ("!!float nan", 38)]
)
def test_a_non_finite_number_is_an_error(problems, bound, column):
    found = problems(
        f"""
        form: order
        fields:
          qty: {{type: number, label: Q, min: {bound}, max: 1.0}}
        """
    )
    assert found == [
        f"app.yaml:7:{column} fields.qty.min: expected a finite number (write a number like 1.5)"
    ]


@pytest.mark.parametrize(
    ("text", "where", "code"),
    [
        ("a: 1\nb: 'x\x00y'\n", "2:6", "0000"),
        ("a: 1\r\nb: 2\r\nc: \x07\n", "3:4", "0007"),
        ("a: é\u2028b: \x1b\n", "2:4", "001B"),
        ("a: [1,\n     2, \ufffe]\n", "2:9", "FFFE"),
    ],
)
def test_a_forbidden_character_is_reported_at_its_line_and_column(text, where, code):
    assert [str(e) for e in check_app_text(text)] == [
        f"app.yaml:{where} the character U+{code} is not allowed in YAML (remove it)"
    ]


def _duplicates(size: int) -> str:
    return "x:\n  first: 1\n" + "  dup: 1\n" * (size // 9)


def test_many_duplicate_keys_stop_after_50_errors_with_a_count_of_the_rest():
    _sources, errors = read_documents(_duplicates(9 * 200), "a.yaml")
    assert len(errors) == MAX_ERRORS + 1 == 51
    assert str(errors[0]) == (
        "a.yaml:4:3 x.dup: duplicate key 'dup' ('dup' is already defined on line 3; keep one)"
    )
    assert str(errors[-1]) == "a.yaml:54:3 ...and 149 more errors (fix these first)"


def test_a_duplicate_key_forgets_the_positions_inside_the_first_value():
    sources, _errors = read_documents("x:\n  a: {b: 1, c: [1, 2]}\n  a: 2\n", "a.yaml")
    assert sorted(sources[0].spans) == [(), ("x",), ("x", "a")]
    assert sources[0].span(("x", "a")).line == 3


def test_check_app_text_applies_the_file_size_limit():
    text = "a: " + "x" * MAX_FILE_BYTES + "\n"
    assert [str(e) for e in check_app_text(text, "big.yaml")] == [
        "big.yaml:1:1 the file has 1.0 MB; a definition file may have at most 1 MB "
        "(split it into smaller files)"
    ]
