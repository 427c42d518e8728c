"""What the databases accept, checked before a value reaches the driver.

SQLite and PostgreSQL disagree on what they do with a hostile value: an id of 2**63
overflows SQLite's driver but is "bigint out of range" on PostgreSQL, a NUL character is
stored or matches everything on SQLite but refused by PostgreSQL, a lone surrogate cannot
be encoded for either, and a 50,000-character LIKE pattern is "too complex" for SQLite
only. Checking here, in one place, gives one answer on both: an
:class:`~engine.errors.InvalidArgumentError` (or a subclass such as ``QueryError``) whose
message, from :mod:`engine.store.messages`, names the argument, what was given and what
is expected, in the caller's language.
"""

from __future__ import annotations

from typing import Any

from engine.errors import InvalidArgumentError
from engine.store.messages import message, shorten

#: ids are BIGINT: 1 .. 2**63 - 1
MAX_ID = 2**63 - 1
#: a signed 64-bit integer column
INT64_RANGE = (-(2**63), 2**63 - 1)
#: pages beyond this are refused (the offset stays far inside BIGINT on both databases)
MAX_PAGE = 10**9
MAX_PAGE_SIZE = 500
#: characters of a search text; longer text is refused (a search is words, not a document)
MAX_SEARCH = 200
#: characters of one text value in a filter (SQLite refuses LIKE patterns near 50,000)
MAX_FILTER_TEXT = 1000
#: values of one ``in`` / ``not_in`` filter
MAX_FILTER_VALUES = 1000
#: characters of a field path (``supplier.region.name``) or a sort key
MAX_PATH = 200
#: characters of an app, form or field key given to the API (the loader allows 20/30)
MAX_KEY = 100
#: characters of other text arguments (an actor's user id, a file name)
MAX_NAME = 255


def is_whole(value: object, low: int, high: int) -> bool:
    """True for an ``int`` (not a ``bool``) within ``low..high``."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def is_record_id(value: object) -> bool:
    """True for a value the store can look a record up by (an int in 1..2**63-1)."""
    return is_whole(value, 1, MAX_ID)


def text_problem(text: str, limit: int) -> tuple[str, dict[str, Any]] | None:
    """Why ``text`` cannot be sent to the database: (message code, params), or None."""
    if len(text) > limit:
        return "argument.too_long", {"length": len(text), "limit": limit}
    if "\x00" in text:
        return "argument.nul", {}
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return "argument.surrogate", {"char": f"\\u{ord(text[exc.start]):04x}"}
    return None


def wrong(
    argument: str,
    value: object,
    locale: object,
    expected: str,
    *,
    code: str = "type",
    error: type[InvalidArgumentError] = InvalidArgumentError,
    **params: Any,
) -> InvalidArgumentError:
    """The error for ``argument`` given ``value`` where ``expected`` (a message code) was due."""
    given = shorten(value)
    expectation = message(expected, locale, **params)
    text = message("argument.wrong", locale, argument=argument, expected=expectation, given=given)
    return error(text, argument=argument, given=given, expected=expectation, code=code)


def check_whole(argument: str, value: object, low: int, high: int, locale: object) -> int:
    """``value`` as an int when it is a whole number in ``low..high``; else refused."""
    if not is_whole(value, low, high):
        code = "range" if isinstance(value, int) and not isinstance(value, bool) else "type"
        raise wrong(argument, value, locale, "expect.whole", code=code, low=low, high=high)
    return int(value)  # type: ignore[call-overload]


def check_text(
    argument: str,
    value: object,
    limit: int,
    locale: object,
    *,
    expected: str = "expect.text",
    error: type[InvalidArgumentError] = InvalidArgumentError,
    **params: Any,
) -> str:
    """``value`` when it is text the database can take (no NUL, valid Unicode, short)."""
    if not isinstance(value, str):
        raise wrong(argument, value, locale, expected, error=error, **params)
    refuse_bad_text(argument, value, limit, locale, error=error)
    return value


def refuse_bad_text(
    argument: str,
    text: str,
    limit: int,
    locale: object,
    *,
    error: type[InvalidArgumentError] = InvalidArgumentError,
) -> None:
    """Raise ``error`` when ``text`` is too long, holds NUL or a lone surrogate."""
    problem = text_problem(text, limit)
    if problem is not None:
        code, params = problem
        given = shorten(text)
        raise error(
            message(code, locale, argument=argument, given=given, **params),
            argument=argument,
            given=given,
            code=code.removeprefix("argument."),
        )
