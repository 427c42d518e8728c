"""Checks of the public API's arguments, run at each entry point before any work.

A caller (the CLI, the web layer, a template, a script) may pass anything: a float id,
a key that is a number, an actor that is None, text with NUL. Each check here either
returns the argument as the engine uses it or raises
:class:`~engine.errors.InvalidArgumentError` naming the argument, what was given
(shortened, printable) and what is expected, in the actor's language, so the same call
gets the same answer on SQLite and PostgreSQL and nothing is written.

Decisions: a record id is an ``int`` (never a ``bool``, a float or text; a caller that
holds text such as a URL part converts it first) in 1..2**63-1; keys are identifiers as
the loader allows them (``engine/definitions/naming.py``). The arguments of a query
(filters, sort, search, page) are checked by the store (``engine/store/query_input.py``).
The checks are isinstance tests and a few comparisons: they cost well under a
microsecond on the write path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.definitions.model import AppDefinition, FormDefinition
from engine.definitions.naming import IDENTIFIER, MAX_APP_KEY, MAX_FIELD_KEY, MAX_FORM_KEY
from engine.errors import InvalidArgumentError
from engine.service.actor import Actor
from engine.store.limits import (
    MAX_ID,
    MAX_NAME,
    MAX_PATH,
    check_text,
    check_whole,
    is_record_id,
    wrong,
)
from engine.store.messages import message, shorten

#: how ``create_record`` may be told where the data came from (engine/fields/base.py)
#: where record input comes from (engine.runtime.forms: "import" reads like web input)
SOURCES = ("json", "web", "excel", "import")
LOCALES = ("zh-CN", "en")


def actor_locale(actor: object) -> str:
    """The locale of a valid actor (its messages' language); refuses anything else."""
    if not isinstance(actor, Actor):
        raise wrong("actor", actor, "zh-CN", "expect.actor")
    locale = actor.locale
    if not isinstance(locale, str):
        raise wrong("actor.locale", locale, "zh-CN", "expect.choice", choices=", ".join(LOCALES))
    check_text("actor.user_id", actor.user_id, MAX_NAME, locale, expected="expect.actor")
    return locale


def check_key(argument: str, value: object, limit: int, locale: str) -> str:
    """An app, form or field key: text the loader would accept as a key."""
    if isinstance(value, str) and len(value) <= limit and IDENTIFIER.fullmatch(value):
        return value
    raise wrong(argument, value, locale, "expect.key", limit=limit)


def check_form(locale: str, app_key: object, form_key: object) -> None:
    """``app_key`` and ``form_key`` of a form."""
    check_key("app_key", app_key, MAX_APP_KEY, locale)
    check_key("form_key", form_key, MAX_FORM_KEY, locale)


def check_app_key(locale: str, app_key: object) -> None:
    """``app_key`` of an app."""
    check_key("app_key", app_key, MAX_APP_KEY, locale)


def check_field_path(argument: str, value: object, locale: str) -> str:
    """A field key (``quote``) or a sub-table column (``lines.photo``)."""
    if isinstance(value, str) and len(value) <= MAX_PATH:
        steps = value.split(".")
        if len(steps) <= 2 and all(
            len(s) <= MAX_FIELD_KEY and IDENTIFIER.fullmatch(s) for s in steps
        ):
            return value
    raise wrong(argument, value, locale, "expect.field_path")


def check_record_id(value: object, locale: str, argument: str = "record_id") -> int:
    """A record id: an int (not a bool) in 1..2**63-1."""
    if is_record_id(value):
        return value  # type: ignore[return-value]
    return check_whole(argument, value, 1, MAX_ID, locale)


def check_whole_number(argument: str, value: object, low: int, high: int, locale: str) -> int:
    """A whole number (int, not bool) in ``low..high``."""
    return check_whole(argument, value, low, high, locale)


def check_version(value: object, locale: str) -> int | None:
    """``expected_version``: None, or a version number (1..2**63-1)."""
    if value is None:
        return None
    return check_whole("expected_version", value, 1, MAX_ID, locale)


def check_flag(argument: str, value: object, locale: str) -> bool:
    """A yes/no option: exactly True or False (not 0, 'yes' or a list)."""
    if isinstance(value, bool):
        return value
    raise wrong(argument, value, locale, "expect.bool")


def check_choice(argument: str, value: object, choices: tuple[str, ...], locale: str) -> str:
    """One of a few words (``source='json'``)."""
    if isinstance(value, str) and value in choices:
        return value
    raise wrong(argument, value, locale, "expect.choice", choices=", ".join(choices))


def check_values(argument: str, value: object, locale: str) -> Mapping[str, Any]:
    """Record data or changes: a mapping with text keys.

    The values are judged by the field types, each refusal a RecordValidationError that
    names the field (deeply nested lists included: "name: expected text"); walking the
    values here as well cost 450 us for a record of 50 sub-table rows.
    """
    if not isinstance(value, Mapping):
        raise wrong(argument, value, locale, "expect.mapping")
    for key in value:
        if not isinstance(key, str):
            raise InvalidArgumentError(
                message("argument.bad_key", locale, argument=argument, given=shorten(key)),
                argument=argument,
                given=shorten(key),
                code="type",
            )
    return value


def check_text_mapping(argument: str, value: object, locale: str) -> Mapping[str, str]:
    """A mapping of text to text (``role_map``)."""
    checked = check_values(argument, value, locale)
    for key, item in checked.items():
        if not isinstance(item, str):
            raise wrong(f"{argument}[{key!r}]", item, locale, "expect.text")
    return checked


def check_definition(argument: str, value: object, kind: type, locale: str) -> Any:
    """An AppDefinition or FormDefinition as the loader builds them."""
    if isinstance(value, kind):
        return value
    name = kind.__name__
    article = "an" if name[:1] in "AEIOU" else "a"
    raise wrong(argument, value, locale, "expect.definition", kind=name, article=article)


def check_app_definition(value: object, locale: str) -> AppDefinition:
    return check_definition("app", value, AppDefinition, locale)  # type: ignore[no-any-return]


def check_form_definition(value: object, locale: str) -> FormDefinition:
    return check_definition("form", value, FormDefinition, locale)  # type: ignore[no-any-return]


def check_upload(filename: object, stream: object, locale: str) -> None:
    """``save_file``'s file name (text) and stream (something with read()).

    What the name holds (NUL, line breaks, lone surrogates, its length, directory parts)
    is judged by the file checks, which name the field in a RecordError (``file_name``).
    """
    if not isinstance(filename, str):
        raise wrong("filename", filename, locale, "expect.text")
    if not callable(getattr(stream, "read", None)):
        raise wrong("stream", stream, locale, "expect.stream")


def invalid(locale: str, argument: str, value: object, expected: str) -> InvalidArgumentError:
    """An InvalidArgumentError for ``argument`` (``expected`` in plain English words, which
    the zh-CN message quotes as they are)."""
    given = shorten(repr(value))
    text = (
        f"{argument}: expected {expected}, got {given}"
        if locale.startswith("en")
        else f"{argument}：应为 {expected}，实际为 {given}"
    )
    return InvalidArgumentError(
        text, argument=argument, given=given, expected=expected, code="type"
    )
