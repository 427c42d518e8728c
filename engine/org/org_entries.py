"""The entries an organisation file is read into, whatever its format (pure).

An entry is one item of a section (a department, a user...) with its raw values and a
way to say where each value is written: ``org.yaml:12:5 users[3].dealer`` for YAML,
``sheet 'users' row 7 column 'dealer'`` for a workbook. :data:`KEYS` says what each
section accepts; :class:`Problems` collects every problem in file order.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import OrgFileProblem
from engine.org.principal import KINDS
from engine.org.snapshot import LOCALES

# -- what each kind accepts -------------------------------------------------------------
TEXT, CODE_KIND, CODES, BOOL, CHOICE = "text", "code", "codes", "bool", "choice"


@dataclass(frozen=True)
class Key:
    kind: str
    required: bool = False
    limit: int = 100
    choices: tuple[str, ...] = ()


KEYS: Mapping[str, Mapping[str, Key]] = {
    "departments": {
        "code": Key(CODE_KIND, True),
        "name": Key(TEXT, True),
        "parent": Key(CODE_KIND),
        "managers": Key(CODES),
    },
    "roles": {
        "code": Key(CODE_KIND, True),
        "name": Key(TEXT, True),
        "members": Key(CODES),
    },
    "regions": {
        "code": Key(CODE_KIND, True),
        "name": Key(TEXT, True),
        "parent": Key(CODE_KIND),
        "level": Key(TEXT, limit=20),
        "managers": Key(CODES),
    },
    "dealers": {
        "code": Key(CODE_KIND, True),
        "name": Key(TEXT, True, limit=200),
        "parent": Key(CODE_KIND),
        "region": Key(CODE_KIND),
        "sales_rep": Key(CODE_KIND),
        "active": Key(BOOL),
    },
    "users": {
        "login": Key(CODE_KIND, True),
        "name": Key(TEXT, True),
        "kind": Key(CHOICE, choices=KINDS),
        "email": Key(TEXT, limit=254),
        "mobile": Key(TEXT, limit=20),
        "locale": Key(CHOICE, choices=LOCALES),
        "department": Key(CODE_KIND),
        "departments": Key(CODES),
        "leader": Key(CODE_KIND),
        "region": Key(CODE_KIND),
        "dealer": Key(CODE_KIND),
        "roles": Key(CODES),
        "active": Key(BOOL),
    },
}
ID_KEY = {"users": "login"}


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


# -- entries: one item of a section, with where its values are ---------------------------
@dataclass
class Entry:
    section: str
    values: dict[str, Any]
    #: key (None: the item itself) -> location text
    locate: Callable[..., str]
    #: key -> the text as written when YAML read it as something else (yes, 0571, 2024-01-01)
    raw: dict[str, tuple[str, bool]] = field(default_factory=dict)
    #: where the item is, for "already defined at ..." (line 12 / row 7)
    place: str = ""


class Problems:
    def __init__(self) -> None:
        self.items: list[OrgFileProblem] = []
        #: a workbook's sheets in their order
        self.sheets: list[str] = []

    def add(self, where: str, message: str, hint: str | None = None) -> None:
        self.items.append(OrgFileProblem(where, message, hint))

    def sorted(self) -> list[OrgFileProblem]:
        """In file order: by line and column (YAML), by sheet and row (xlsx)."""
        sheets: dict[str, int] = {name: i for i, name in enumerate(self.sheets)}
        for problem in self.items:
            found = _SHEET_PLACE.match(problem.where)
            if found:
                sheets.setdefault(found[1], len(sheets))

        def key(problem: OrgFileProblem) -> tuple[int, int, int]:
            found = _YAML_PLACE.search(problem.where)
            if found:
                return (0, int(found[1]), int(found[2]))
            found = _SHEET_PLACE.match(problem.where)
            if found:
                return (sheets[found[1]], int(found[2] or 0), 0)
            return (0, 0, 0)

        return sorted(self.items, key=key)


_YAML_PLACE = re.compile(r":(\d+):(\d+)(?: |$)")
_SHEET_PLACE = re.compile(r"sheet '([^']*)'(?: row (\d+))?")
