"""Semantic checks of ledger documents and of the ledger actions of rules.

- the ledger key is an identifier, unique in the app; the account names are identifiers;
- ``lots.expires`` is ``N days|months|years [end of month]``; ``timezone`` is known;
- ``floor`` has no more decimals than ``decimals``;
- ``lots.remind``: ``before`` is ``N days|weeks``; its ``notify`` has exactly one of
  ``to`` (people) or ``channel`` (a robot, with its ``url``), robot settings only with
  a channel and ``via`` only with ``to``; a ``{field: x}`` recipient names an account
  field of the ledger (the login an account value holds);
- a ledger action names a declared ledger, gives every account name (and no other),
  its expressions compile over the triggering record; ``expires`` only on a ledger with
  lots; ``from_hold`` only on consume; a reverse's ``source.form`` is a form of the app.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.definitions.checks.identifiers import identifier_error
from engine.definitions.context import AppContext
from engine.definitions.ledgers import REMINDER_NAMES, parse_before, parse_expiry
from engine.definitions.rule_schema import RECIPIENT_KINDS, ROBOT_KEYS
from engine.definitions.source import Path, Source
from engine.errors import DefinitionError


def _hint(word: Any, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(str(word), sorted(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else None


def declared_ledgers(app: AppContext) -> dict[str, Source]:
    """Ledger key -> its document, for the ledgers the app declares."""
    found: dict[str, Source] = {}
    for source in app.documents.get("ledger", []):
        if isinstance(source.data, dict) and isinstance(source.data.get("ledger"), str):
            found.setdefault(source.data["ledger"], source)
    return found


def account_names(source: Source) -> list[str]:
    """The account key names a ledger document declares."""
    account = source.data.get("account")
    if isinstance(account, str):
        return [account]
    return [a for a in account or () if isinstance(a, str)]


def check_ledgers(app: AppContext) -> Iterator[DefinitionError]:
    """Every ledger document of the app."""
    seen: dict[str, Source] = {}
    for source in app.documents.get("ledger", []):
        if not isinstance(source.data, dict):
            continue
        key = source.get(("ledger",))
        if isinstance(key, str):
            problem = identifier_error(source, ("ledger",), key, "ledger", 60)
            if problem:
                yield problem
            elif key in seen:
                yield source.fail(
                    ("ledger",),
                    f"ledger {key!r} is defined twice (also in {seen[key].file})",
                    "rename one",
                )
            seen.setdefault(key, source)
        account = source.get(("account",))
        items = [(("account",), account)] if isinstance(account, str) else []
        if isinstance(account, list):
            items = [(("account", i), a) for i, a in enumerate(account)]
        for path, name in items:
            if isinstance(name, str):
                problem = identifier_error(source, path, name, "account field", 60)
                if problem:
                    yield problem
        expires = source.get(("lots", "expires"))
        if isinstance(expires, str) and parse_expiry(expires) is None:
            yield source.fail(
                ("lots", "expires"),
                f"cannot read the expiry {expires!r}",
                "write 'N days', 'N months', 'N years' or 'N months end of month', "
                "e.g. '12 months end of month'",
            )
        yield from _check_remind(source)
        zone = source.get(("timezone",))
        if isinstance(zone, str):
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                yield source.fail(
                    ("timezone",), f"unknown time zone {zone!r}", "e.g. Asia/Shanghai"
                )
        floor, decimals = source.get(("floor",)), source.get(("decimals",))
        places = decimals if isinstance(decimals, int) and not isinstance(decimals, bool) else 2
        if isinstance(floor, (int, float, Decimal)) and not isinstance(floor, bool):
            try:
                exponent = Decimal(str(floor)).as_tuple().exponent
            except InvalidOperation:  # pragma: no cover - the schema allows numbers only
                continue
            if isinstance(exponent, int) and -exponent > places:
                yield source.fail(
                    ("floor",),
                    f"the floor {floor} has more than {places} decimals",
                    f"round it to {places} decimals, or raise decimals:",
                )


def _check_remind(source: Source) -> Iterator[DefinitionError]:
    """``lots.remind`` of one ledger document (the schema checked its shape)."""
    remind = source.get(("lots", "remind"))
    if not isinstance(remind, dict):
        return
    base = ("lots", "remind")
    before = remind.get("before")
    if "before" in remind and parse_before(before) is None:
        yield source.fail(
            (*base, "before"),
            f"cannot read before: {before!r}",
            "write 'N days' or 'N weeks' (at most 3660 days), e.g. '30 days'",
        )
    taken = [name for name in account_names(source) if name in REMINDER_NAMES]
    if taken:
        yield source.fail(
            ("account",),
            f"the account field {taken[0]!r} has the name of a value the reminder's "
            "message shows (record." + taken[0] + ")",
            f"rename it; taken: {', '.join(REMINDER_NAMES)}",
        )
    notify = remind.get("notify")
    if not isinstance(notify, dict):
        return
    path = (*base, "notify")
    chosen = [key for key in ("channel", "to") if key in notify]
    if len(chosen) != 1:
        yield source.fail(
            path,
            "a reminder's notify needs exactly one of to (people) or channel (a group robot)"
            + (", not both" if len(chosen) == 2 else ""),
            "to: [{role: finance}] or channel: dingtalk with url:",
            at_key=True,
        )
        return
    if chosen == ["channel"]:
        if "via" in notify:
            yield source.fail(
                (*path, "via"),
                "via is for messages to people (to:), not a robot",
                "remove via:",
                at_key=True,
            )
        if "url" not in notify:
            yield source.fail(
                path, f"channel {notify['channel']} needs the robot's url", at_key=True
            )
        return
    for key in ROBOT_KEYS:
        if key in notify:
            yield source.fail(
                (*path, key),
                f"{key} is a setting of a group robot (channel:), not of a message to people",
                "remove it, or send to a robot with channel:",
                at_key=True,
            )
    targets = notify.get("to")
    items = [((*path, "to"), targets)] if isinstance(targets, dict) else []
    if isinstance(targets, list):
        items = [((*path, "to", i), t) for i, t in enumerate(targets)]
    names = account_names(source)
    for where, item in items:
        if not isinstance(item, dict):
            continue
        if not any(key in RECIPIENT_KINDS for key in item):
            yield source.fail(
                where,
                f"unknown recipient {', '.join(map(str, item)) or '{}'}",
                "one of {role: code}, {user: login}, {department: code}, {field: account field}",
            )
            continue
        field_name = item.get("field")
        if isinstance(field_name, str) and field_name not in names:
            yield source.fail(
                (*where, "field"),
                f"the ledger's account has no field {field_name!r}: a reminder's "
                "{field: x} names the account value that holds a login",
                _hint(field_name, names) or f"the account is keyed by {', '.join(names)}",
            )


def check_ledger_action(check: Any, path: Path, kind: str, body: Any) -> Iterator[DefinitionError]:
    """One ledger action of a rule (``check`` is the rule's RuleCheck: its source,
    form, app and expression compiler)."""
    if not isinstance(body, dict):
        return
    source: Source = check.source
    ledgers = declared_ledgers(check.app)
    name = body.get("ledger")
    ledger = ledgers.get(name) if isinstance(name, str) else None
    if isinstance(name, str) and ledger is None:
        yield source.fail(
            (*path, "ledger"),
            f"the app has no ledger {name!r}",
            _hint(name, ledgers) or "declare it in ledgers/<name>.yaml",
        )
    scope = check._own_scope()
    account = body.get("account")
    if isinstance(account, dict):
        wanted = account_names(ledger) if ledger is not None else list(account)
        for key, text in account.items():
            if key not in wanted:
                yield source.fail(
                    (*path, "account", key),
                    f"ledger {name!r} has no account field {key!r}",
                    f"its account is keyed by {', '.join(wanted)}",
                    at_key=True,
                )
            elif isinstance(text, str):
                yield from check._compile((*path, "account", key), text, scope)
        missing = [k for k in wanted if k not in account]
        if missing:
            yield source.fail(
                (*path, "account"),
                f"the account misses {', '.join(missing)}",
                f"give every account field of ledger {name!r}: {', '.join(wanted)}",
            )
    for key in ("amount", "key", "memo", "expires", "hold"):
        text = body.get(key)
        if isinstance(text, str):
            yield from check._compile((*path, key), text, scope)
    if "expires" in body and ledger is not None and not isinstance(ledger.data.get("lots"), dict):
        yield source.fail(
            (*path, "expires"),
            f"ledger {name!r} has no lots, so a post has no expiry",
            "remove expires:, or declare lots: in the ledger",
        )
    if kind == "consume" and body.get("from_hold") is not True and "amount" not in body:
        yield source.fail(
            path,
            "a consume needs an amount (or from_hold: true to take the hold's rest)",
            "add amount: <expression>",
        )
    if kind == "reverse":
        src = body.get("source")
        if isinstance(src, dict):
            form = src.get("form")
            if isinstance(form, str) and form not in check.app.forms:
                yield source.fail(
                    (*path, "source", "form"),
                    f"the app has no form {form!r}",
                    _hint(form, check.app.forms),
                )
            text = src.get("id")
            if isinstance(text, str):
                yield from check._compile((*path, "source", "id"), text, scope)


__all__ = ["check_ledger_action", "check_ledgers", "declared_ledgers"]
