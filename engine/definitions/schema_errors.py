"""Validate documents against the DSL schema and turn jsonschema errors into readable ones.

jsonschema messages are written for programmers (``'lable' was unexpected``); people
editing YAML need "unknown key 'lable'" with "did you mean 'label'?". One small function
per jsonschema keyword does the translation (a registry, as jsonschema itself does).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from engine.definitions import field_types
from engine.definitions.schema import kind_schema
from engine.definitions.source import Path, Source
from engine.errors import DefinitionError

TYPE_WORDS = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "nothing",
}


@cache
def _validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(kind_schema(kind))


def schema_errors(kind: str, source: Source) -> list[DefinitionError]:
    """Every schema problem of one document of ``kind``, translated and located."""
    found: dict[tuple[Any, ...], DefinitionError] = {}
    for error in _validator(kind).iter_errors(source.data):
        for located in translate(error, source):
            found.setdefault((located.line, located.column, located.path, located.message), located)
    return list(found.values())


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """``did you mean 'label'?`` when a choice is close to ``word``, else None."""
    close = difflib.get_close_matches(str(word), sorted(set(choices)), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def translate(error: ValidationError, source: Source) -> list[DefinitionError]:
    """Readable, located errors for one jsonschema error."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        return _shapes(error, source)
    path = tuple(error.absolute_path)
    return TRANSLATORS.get(error.validator, _fallback)(error, source, path)


def _shapes(error: ValidationError, source: Source) -> list[DefinitionError]:
    """Errors of the branch whose shape fits the value (a list for a list...).

    A branch whose root ``type`` fails is the wrong shape; when exactly the shape is
    wrong everywhere, say which shapes were expected. Otherwise report the fitting
    branch's errors (all of them: two unknown keys are two errors), falling back to
    jsonschema's ``best_match`` when several branches fit.
    """
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context or []:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    fitting = [
        errors
        for errors in branches.values()
        if not any(e.validator == "type" and not e.relative_path for e in errors)
    ]
    if not fitting:
        expected = [t for e in error.context or [] for t in _as_list(e.validator_value)]
        return [_type_error(source, tuple(error.absolute_path), expected)]
    if len(fitting) == 1:
        return [located for sub in fitting[0] for located in translate(sub, source)]
    return translate(best_match(error.context or []), source)


Translator = Callable[[ValidationError, Source, Path], list[DefinitionError]]


def _as_list(value: Any) -> list[str]:
    return list(value) if isinstance(value, list) else [value]


def _type_error(source: Source, path: Path, expected: list[str]) -> DefinitionError:
    word = source.boolean_word(path)
    if word is not None and "string" in expected:
        return source.fail(
            path, f"expected text, but YAML reads {word} as a boolean", f'quote it: "{word}"'
        )
    words = " or ".join(dict.fromkeys(TYPE_WORDS.get(t, t) for t in expected))
    return source.fail(path, f"expected {words}")


def _type(error: ValidationError, source: Source, path: Path) -> list[DefinitionError]:
    return [_type_error(source, path, _as_list(error.validator_value))]


def _enum(error: ValidationError, source: Source, path: Path) -> list[DefinitionError]:
    if error.schema.get("title") == "field type":
        name = error.instance
        hint = did_you_mean(name, field_types.accepted_names()) or "see docs/fields.md"
        return [source.fail(path, f"unknown field type '{name}'", hint)]
    allowed = ", ".join(str(v) for v in error.validator_value)
    word = source.boolean_word(path)
    hint = f'YAML reads {word} as a boolean; quote it: "{word}"' if word else None
    if hint is None and isinstance(error.instance, str):
        hint = did_you_mean(error.instance, [str(v) for v in error.validator_value])
    return [source.fail(path, f"expected one of: {allowed}", hint)]


def _required(error: ValidationError, source: Source, path: Path) -> list[DefinitionError]:
    instance = error.instance if isinstance(error.instance, dict) else {}
    return [
        source.fail(path, f"missing required key '{key}'")
        for key in error.validator_value
        if key not in instance
    ]


def _additional(error: ValidationError, source: Source, path: Path) -> list[DefinitionError]:
    allowed = list(error.schema.get("properties", {}))
    if not isinstance(error.instance, dict):
        return [source.fail(path, "unexpected keys")]
    errors = []
    for key in error.instance:
        if key in allowed:
            continue
        hint = did_you_mean(key, allowed) or f"allowed keys: {', '.join(allowed)}"
        errors.append(source.fail((*path, key), f"unknown key '{key}'", hint, at_key=True))
    return errors


def _bound(text: str) -> Translator:
    def translate_bound(error: ValidationError, source: Source, path: Path):
        return [source.fail(path, text.format(error.validator_value))]

    return translate_bound


def _pattern(error: ValidationError, source: Source, path: Path) -> list[DefinitionError]:
    message = error.schema.get("patternErrorMessage") or f"does not match {error.validator_value}"
    return [source.fail(path, message)]


def _min_count(what: str) -> Translator:
    def translate_min(error: ValidationError, source: Source, path: Path):
        count = error.validator_value
        if count == 1:
            return [source.fail(path, f"the {what} must not be empty")]
        return [source.fail(path, f"expected at least {count} entries")]

    return translate_min


def _fallback(error: ValidationError, source: Source, path: Path) -> list[DefinitionError]:
    return [source.fail(path, error.message)]


TRANSLATORS: dict[str, Translator] = {
    "type": _type,
    "enum": _enum,
    "required": _required,
    "additionalProperties": _additional,
    "pattern": _pattern,
    "minItems": _min_count("list"),
    "minProperties": _min_count("mapping"),
    "minimum": _bound("expected at least {}"),
    "maximum": _bound("expected at most {}"),
    "exclusiveMinimum": _bound("expected more than {}"),
    "exclusiveMaximum": _bound("expected less than {}"),
    "maxItems": _bound("expected at most {} items"),
    "minLength": _bound("expected at least {} characters"),
    "maxLength": _bound("expected at most {} characters"),
    "const": _bound("expected {!r}"),
}
