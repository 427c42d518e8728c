"""Read an organisation file (YAML or xlsx) into a frozen :class:`OrgSnapshot` (pure).

The file lists departments, roles, regions, dealers and users with their links (see
docs/org.md for every key). Every problem is collected and raised together in one
:class:`~engine.errors.OrgFileError`, each located where a person can fix it:
``org.yaml:12:5 users[3].dealer: ...`` in YAML, ``sheet 'users' row 7 column 'dealer': ...``
in a workbook. A file must be complete for what it references: a parent, manager,
leader, sales representative, role member, region or dealer named in it must be
defined in the same file.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.definitions.source import YAML11_BOOLEAN_WORDS, Source
from engine.definitions.yaml_reader import read_documents
from engine.errors import OrgFileError, OrgFileProblem
from engine.org.org_entries import (
    BOOL,
    CHOICE,
    CODE_KIND,
    CODES,
    ID_KEY,
    KEYS,
    Entry,
    Key,
    Problems,
    did_you_mean,
)
from engine.org.org_xlsx import workbook_entries
from engine.org.principal import EXTERNAL, INTERNAL
from engine.org.snapshot import (
    CODE,
    CODE_RULE,
    LOCALES,
    MAX_CODE,
    SECTIONS,
    Dealer,
    Department,
    OrgSnapshot,
    Region,
    Role,
    User,
)

__all__ = [
    "CODE",
    "CODE_RULE",
    "LOCALES",
    "MAX_CODE",
    "SECTIONS",
    "Dealer",
    "Department",
    "OrgSnapshot",
    "Region",
    "Role",
    "User",
    "read_org_file",
    "read_org_text",
    "read_org_workbook",
]


# -- reading YAML -----------------------------------------------------------------------
def read_org_text(text: str, file: str = "org.yaml") -> OrgSnapshot:
    """The organisation of a YAML text (``file`` names it in errors)."""
    problems = Problems()
    sources, errors = read_documents(text, file)
    for error in errors:
        where = f"{error.file}:{error.line}:{error.column}"
        problems.add(f"{where} {error.path}" if error.path else where, error.message, error.hint)
    if errors:
        raise OrgFileError(file, problems.items)
    if len(sources) != 1:
        problems.add(
            f"{file}:1:1",
            "expected one YAML document" if sources else "the file is empty",
            "write the sections departments, roles, regions, dealers and users in one document",
        )
        raise OrgFileError(file, problems.items)
    return _build(file, _yaml_entries(sources[0], problems), problems)


def _yaml_entries(source: Source, problems: Problems) -> list[Entry]:
    def where(path: tuple[str | int, ...], at_key: bool = False) -> str:
        span = source.span(path)
        line, column = span.line, span.column
        if at_key and span.key_line is not None and span.key_column is not None:
            line, column = span.key_line, span.key_column
        shown = ""
        for part in path:
            shown += f"[{part}]" if isinstance(part, int) else (f".{part}" if shown else part)
        head = f"{source.file}:{line}:{column}"
        return f"{head} {shown}" if shown else head

    data = source.data
    if data is None:
        return []
    if not isinstance(data, dict):
        problems.add(
            where(()), "expected a mapping of sections", f"sections: {', '.join(SECTIONS)}"
        )
        return []
    entries: list[Entry] = []
    for section, items in data.items():
        if section not in SECTIONS:
            problems.add(
                where((section,), at_key=True),
                f"unknown section '{section}'",
                did_you_mean(section, SECTIONS) or f"sections: {', '.join(SECTIONS)}",
            )
            continue
        if items is None:
            continue
        if not isinstance(items, list):
            problems.add(where((section,)), "expected a list of items (- {...})")
            continue
        for index, item in enumerate(items):
            path = (section, index)
            if not isinstance(item, dict):
                problems.add(where(path), "expected a mapping such as {code: ..., name: ...}")
                continue
            raw: dict[str, tuple[str, bool]] = {}
            for key, value in item.items():
                for index in range(len(value)) if isinstance(value, list) else (None,):
                    part = (key,) if index is None else (key, index)
                    span = source.spans.get((*path, *part))
                    if span is not None and span.raw is not None:
                        name = key if index is None else f"{key}[{index}]"
                        raw[name] = (span.raw, span.style is None)

            def locate(
                key: str | None, at_key: bool = False, path: tuple[str | int, ...] = path
            ) -> str:
                return where(path if key is None else (*path, key), at_key)

            line = source.span(path).line
            entries.append(Entry(section, dict(item), locate, raw, f"line {line}"))
    return entries


# -- reading xlsx ---------------------------------------------------------------------
def read_org_workbook(path: str | Path) -> OrgSnapshot:
    """The organisation of an .xlsx workbook: one sheet per kind, a header row of keys."""
    entries, problems = workbook_entries(path)
    return _build(str(path), entries, problems)


# -- checking and building ---------------------------------------------------------------
def read_org_file(path: str | Path) -> OrgSnapshot:
    """The organisation of a ``.yaml``/``.yml`` or ``.xlsx`` file; OrgFileError otherwise."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix in (".yaml", ".yml"):
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise OrgFileError(
                str(path), [OrgFileProblem(str(path), "the file is not UTF-8 text")]
            ) from exc
        except OSError as exc:
            raise OrgFileError(
                str(path), [OrgFileProblem(str(path), f"cannot read the file: {exc.strerror}")]
            ) from exc
        return read_org_text(text, str(path))
    if suffix == ".xlsx":
        return read_org_workbook(file)
    raise OrgFileError(
        str(path),
        [OrgFileProblem(str(path), "an organisation file is .yaml, .yml or .xlsx")],
    )


def _build(file: str, entries: list[Entry], problems: Problems) -> OrgSnapshot:
    checked: dict[str, list[tuple[Entry, dict[str, Any]]]] = {s: [] for s in SECTIONS}
    first: dict[tuple[str, str], Entry] = {}
    for entry in entries:
        values = _check_values(entry, problems)
        if values is None:
            continue
        id_key = ID_KEY.get(entry.section, "code")
        code = values.get(id_key)
        if code is None:
            continue
        earlier = first.get((entry.section, code))
        if earlier is not None:
            noun = "login" if id_key == "login" else "code"
            problems.add(
                entry.locate(id_key),
                f"duplicate {noun} '{code}'",
                f"already defined at {earlier.place}; keep one",
            )
            continue
        first[(entry.section, code)] = entry
        checked[entry.section].append((entry, values))
    _check_links(checked, problems)
    if problems.items:
        raise OrgFileError(file, problems.sorted())
    return _snapshot(checked)


def _check_values(entry: Entry, problems: Problems) -> dict[str, Any] | None:
    """The item's values, typed; None when its id is unusable."""
    known = KEYS[entry.section]
    out: dict[str, Any] = {}
    for key, value in entry.values.items():
        if not isinstance(key, str) or key not in known:
            problems.add(
                entry.locate(str(key), True),
                f"unknown key '{key}'",
                did_you_mean(str(key), known) or f"keys: {', '.join(known)}",
            )
            continue
        typed = _typed(entry, key, known[key], value, problems)
        if typed is not _BAD and typed is not None:
            out[key] = typed
    id_key = ID_KEY.get(entry.section, "code")
    for key, spec in known.items():
        if spec.required and key not in entry.values:  # present but blank: told by _typed
            problems.add(entry.locate(None), f"'{key}' is required")
    if id_key not in out:
        return None
    return out


_BAD = object()


def _typed(entry: Entry, key: str, spec: Key, value: Any, problems: Problems) -> Any:
    where = entry.locate(key)
    if value is None:
        if spec.required:
            problems.add(where, f"'{key}' is required")
            return _BAD
        return None
    if spec.kind == BOOL:
        if isinstance(value, bool):
            return value
        problems.add(where, f"expected true or false, got {value!r}")
        return _BAD
    if spec.kind == CODES:
        if not isinstance(value, list):
            problems.add(
                where, f"expected a list such as [{_example(entry.section, key)}]", _got(value)
            )
            return _BAD
        codes: list[str] = []
        for index, item in enumerate(value):
            text = _text_of(entry, f"{key}[{index}]", item, problems, f"{where}[{index}]")
            if text is _BAD:
                continue
            if _code_problem(text, f"{where}[{index}]", problems):
                continue
            if text in codes:
                problems.add(f"{where}[{index}]", f"'{text}' is listed twice", "keep one")
                continue
            codes.append(text)
        return tuple(codes)
    text = _text_of(entry, key, value, problems, where)
    if text is _BAD:
        return _BAD
    if spec.kind == CODE_KIND:
        return _BAD if _code_problem(text, where, problems) else text
    if spec.kind == CHOICE:
        if text not in spec.choices:
            problems.add(
                where,
                f"expected one of {', '.join(spec.choices)}, got '{text}'",
                did_you_mean(text, spec.choices),
            )
            return _BAD
        return text
    text = text.strip()
    if not text:
        if spec.required:
            problems.add(where, f"'{key}' must not be blank")
            return _BAD
        return None
    if len(text) > spec.limit:
        problems.add(where, f"{len(text)} characters, at most {spec.limit} are allowed")
        return _BAD
    if "\x00" in text:
        problems.add(where, "contains a NUL character", "remove it")
        return _BAD
    if key == "email" and ("@" not in text or any(c.isspace() for c in text)):
        problems.add(where, f"'{text}' is not an e-mail address", "write it like name@example.com")
        return _BAD
    return text


def _text_of(entry: Entry, raw_key: str, value: Any, problems: Problems, where: str) -> Any:
    """Text as written; YAML 1.1 booleans and structures refused, numbers and dates kept as written."""
    if isinstance(value, str):
        return value
    raw, plain = entry.raw.get(raw_key, (None, False))
    if isinstance(value, bool):
        shown = raw if raw is not None else ("TRUE" if value else "FALSE")
        if raw is not None and raw.lower() in YAML11_BOOLEAN_WORDS:
            problems.add(
                where,
                f"YAML 1.1 reads {raw} as the boolean {str(value).lower()}, not as text",
                f'quote it: "{raw}"',
            )
        else:
            problems.add(where, f"expected text, got the boolean {shown}", f'quote it: "{shown}"')
        return _BAD
    if isinstance(value, (int, Decimal, float, date, datetime, time)):
        if raw is not None and plain:
            return raw  # 13805710001, 0571, 2024-01-01: the text as written
        return str(value)
    problems.add(where, "expected text", _got(value))
    return _BAD


def _code_problem(text: str, where: str, problems: Problems) -> bool:
    if len(text) <= MAX_CODE and CODE.fullmatch(text):
        return False
    problems.add(where, f"'{text}' is not a valid code", f"use {CODE_RULE}")
    return True


def _got(value: Any) -> str:
    if isinstance(value, dict):
        return "got a mapping"
    if isinstance(value, list):
        return "got a list"
    return f"got {value!r}"


def _example(section: str, key: str) -> str:
    return "li.ming, wang.fang" if key in ("managers", "members") else "sales, marketing"


def _check_links(
    checked: dict[str, list[tuple[Entry, dict[str, Any]]]], problems: Problems
) -> None:
    codes = {s: {v[ID_KEY.get(s, "code")] for _, v in items} for s, items in checked.items()}

    def refer(entry: Entry, key: str, value: Any, section: str, noun: str) -> None:
        values = value if isinstance(value, tuple) else (value,)
        for index, code in enumerate(values):
            if code in codes[section]:
                continue
            where = entry.locate(key) + (f"[{index}]" if isinstance(value, tuple) else "")
            hint = did_you_mean(code, codes[section])
            if hint is None:
                hint = f"add it to {section}" if codes[section] else f"the file has no {section}"
            problems.add(where, f"{noun} '{code}' is not defined in this file", hint)

    for section, noun in (
        ("departments", "department"),
        ("regions", "region"),
        ("dealers", "dealer"),
    ):
        for entry, values in checked[section]:
            if "parent" in values:
                refer(entry, "parent", values["parent"], section, f"parent {noun}")
            for key in ("managers", "sales_rep"):
                if key in values:
                    refer(entry, key, values[key], "users", "user")
            if "region" in values:
                refer(entry, "region", values["region"], "regions", "region")
        _check_cycles(checked[section], codes[section], noun, problems)
    for entry, values in checked["roles"]:
        if "members" in values:
            refer(entry, "members", values["members"], "users", "user")
    for entry, values in checked["users"]:
        login = values["login"]
        for key, section, noun in (
            ("department", "departments", "department"),
            ("departments", "departments", "department"),
            ("region", "regions", "region"),
            ("dealer", "dealers", "dealer"),
            ("roles", "roles", "role"),
        ):
            if key in values:
                refer(entry, key, values[key], section, noun)
        if "leader" in values:
            refer(entry, "leader", values["leader"], "users", "user")
            if values["leader"] == login:
                problems.add(entry.locate("leader"), "a user cannot be their own leader")
        _check_user_kind(entry, values, problems)


def _check_user_kind(entry: Entry, values: dict[str, Any], problems: Problems) -> None:
    kind = values.get("kind", INTERNAL)
    if kind == EXTERNAL:
        if "dealer" not in values and "dealer" not in entry.values:
            problems.add(
                entry.locate(None),
                "an external user (a dealer's person) needs exactly one dealer",
                "add dealer: <dealer code>",
            )
        for key in ("department", "departments", "region", "leader"):
            if key in values:
                problems.add(
                    entry.locate(key),
                    f"an external user has no {key}",
                    "they belong to their dealer; remove it or make the user kind internal",
                )
    elif "dealer" in values:
        problems.add(
            entry.locate("dealer"),
            "an internal user belongs to no dealer",
            "remove dealer, or set kind: external for a dealer's person",
        )
    main = values.get("department")
    others = values.get("departments")
    if others is not None and main is not None and main not in others:
        problems.add(
            entry.locate("department"),
            f"the main department '{main}' is not among the user's departments "
            f"[{', '.join(others)}]",
            f"add '{main}' to departments, or leave departments out",
        )
    elif others is not None and main is None and len(others) > 1:
        problems.add(
            entry.locate("departments"),
            "a user in several departments needs a main one",
            f"add department: <one of {', '.join(others)}>",
        )


def _check_cycles(
    items: list[tuple[Entry, dict[str, Any]]], known: set[str], noun: str, problems: Problems
) -> None:
    parents = {v["code"]: v.get("parent") for _, v in items}
    entry_of = {v["code"]: e for e, v in items}
    state: dict[str, int] = {}  # 1: on the current walk, 2: done
    for start in parents:
        walk: list[str] = []
        node: str | None = start
        while node is not None and node in known and state.get(node) is None:
            state[node] = 1
            walk.append(node)
            node = parents.get(node)
        if node is not None and state.get(node) == 1:
            cycle = walk[walk.index(node) :]
            shown = " -> ".join([*cycle, node])
            first = min(cycle)
            problems.add(
                entry_of[first].locate("parent"),
                f"the {noun} tree has a cycle: {shown}",
                "one of them must have another parent (or none)",
            )
        for done in walk:
            state[done] = 2


def _snapshot(checked: dict[str, list[tuple[Entry, dict[str, Any]]]]) -> OrgSnapshot:
    role_members: dict[str, set[str]] = {
        v["code"]: set(v.get("members", ())) for _, v in checked["roles"]
    }
    users = []
    for _, v in checked["users"]:
        external = v.get("kind", INTERNAL) == EXTERNAL
        main = v.get("department")
        departments = v.get("departments") or ((main,) if main else ())
        if main is None and len(departments) == 1:
            main = departments[0]
        ordered = ((main,) if main else ()) + tuple(d for d in departments if d != main)
        for role in v.get("roles", ()):
            role_members[role].add(v["login"])
        users.append(
            User(
                login=v["login"],
                name=v["name"],
                kind=EXTERNAL if external else INTERNAL,
                email=v.get("email"),
                mobile=v.get("mobile"),
                locale=v.get("locale", "zh-CN"),
                department=main,
                departments=ordered,
                leader=v.get("leader"),
                region=v.get("region"),
                dealer=v.get("dealer"),
                roles=tuple(v.get("roles", ())),
                active=v.get("active"),
            )
        )
    return OrgSnapshot(
        departments=tuple(
            Department(v["code"], v["name"], v.get("parent"), v.get("managers", ()))
            for _, v in checked["departments"]
        ),
        roles=tuple(
            Role(v["code"], v["name"], tuple(sorted(role_members[v["code"]])))
            for _, v in checked["roles"]
        ),
        regions=tuple(
            Region(v["code"], v["name"], v.get("parent"), v.get("level"), v.get("managers", ()))
            for _, v in checked["regions"]
        ),
        dealers=tuple(
            Dealer(
                v["code"],
                v["name"],
                v.get("parent"),
                v.get("region"),
                v.get("sales_rep"),
                v.get("active"),
            )
            for _, v in checked["dealers"]
        ),
        users=tuple(users),
    )
