"""What the rules runtime passes around: one rule firing, its results and errors, and
the value helpers (system columns, event data, pushed-down equalities) shared by the
in-transaction runtime (engine/service/rules.py), the after-commit and scheduled
triggers (engine/service/rule_triggers.py) and the status machines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.definitions.rules import (
    JOIN,
    RuleDefinition,
)
from engine.errors import (
    ServiceError,
)
from engine.service.transactions import Transaction
from engine.store.query_input import Filter

SYSTEM_COLUMNS = ("id", "status", "title", "created_at", "created_by", "updated_at", "updated_by")


class RuleError(ServiceError):
    """A rule refused or failed; ``rule`` is its key, ``code`` a stable machine name
    (``limit``, ``depth``, ``expression``, ``action``, ``ambiguous``, ``unknown``)."""

    def __init__(self, message: str, *, rule: str, code: str, chain: tuple[str, ...] = ()):
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.code = code
        self.chain = chain


def say(locale: str, zh: str, en: str) -> str:
    return en if str(locale).startswith("en") else zh


@dataclass(frozen=True)
class RuleInfo:
    """A rule as ``rules.list`` shows it."""

    key: str
    form: str
    trigger: str
    run: str
    actions: tuple[str, ...]
    name: str
    where: str
    enabled: bool

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--output json`` and the API."""
        return {
            "key": self.key,
            "form": self.form,
            "trigger": self.trigger,
            "run": self.run,
            "actions": list(self.actions),
            "name": self.name,
            "where": self.where,
            "enabled": self.enabled,
        }


@dataclass
class RuleRun:
    """What one rule run did (or, dry, would do): one line per change."""

    rule: str
    record_id: int
    dry_run: bool
    matched: bool
    changes: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--output json`` and the API."""
        return {
            "rule": self.rule,
            "record_id": self.record_id,
            "dry_run": self.dry_run,
            "matched": self.matched,
            "changes": self.changes,
        }


@dataclass
class Firing:
    """One rule firing: where, as whom, on which values."""

    tx: Transaction
    now: datetime
    locale: str
    user: str | None
    rule: RuleDefinition
    record_id: int
    values: dict[str, Any]
    old: Mapping[str, Any] | None
    log: list[dict[str, Any]] | None = None


def may_press(roles: frozenset[str], rule: RuleDefinition) -> bool:
    """Whether someone holding app ``roles`` sees a manual rule's button."""
    return not rule.trigger.roles or bool(set(rule.trigger.roles) & set(roles))


def describe(rule: RuleDefinition) -> str:
    t = rule.trigger
    if t.kind == "updated" and t.fields:
        return f"updated ({', '.join(t.fields)})"
    if t.kind == "flow":
        return f"flow {t.event}" + (f" at {t.node}" if t.node else "")
    if t.kind == "schedule":
        return f"schedule {t.cron} {t.timezone}"
    if t.kind in ("before", "after"):
        return f"{t.days}d {t.hours}h {t.kind} {t.field}"
    return t.kind


def record_names(values: dict[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
    values.update({c: row[c] for c in SYSTEM_COLUMNS if c in row})
    values.setdefault("version", row.get("version"))
    return values


def truthy(value: Any) -> bool:
    return bool(value) and value is not None


def named_error(error: Any, rule: RuleDefinition, locale: str) -> Any:
    """A record error with the rule that caused it in front."""
    from engine.errors import RecordError

    prefix = say(locale, f"规则 {rule.key}：", f"rule {rule.key}: ")
    if str(error.message).startswith(prefix):
        return error
    return RecordError(error.field, prefix + str(error.message), error.code, error.row)


def plain_one(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return value
    return value


def event_data(value: Any) -> Any:
    """Values as an outbox event keeps them: JSON, money and numbers as exact text."""
    shown = plain(value)
    if isinstance(shown, Mapping):
        return {k: event_data(v) for k, v in shown.items()}
    if isinstance(shown, list):
        return [event_data(v) for v in shown]
    return str(shown) if isinstance(shown, Decimal) else shown


def plain(value: Any) -> Any:
    """Values the write path reads as JSON input (dates as ISO text, Decimals kept)."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return plain_one(value)


def equalities(tree: Mapping[str, Any], names: Mapping[str, Any], fields: set[str]) -> list[Filter]:
    """``field == record.x`` parts of a top-level ``and``: filters for the query."""
    parts = tree.get("args", []) if tree.get("op") == "and" else [tree]
    out: list[Filter] = []
    for part in parts:
        if part.get("op") != "compare" or part.get("operators") != ["=="]:
            continue
        left, right = part["operands"]
        for column, other in ((left, right), (right, left)):
            if column.get("op") != "name":
                continue
            name = column["name"]
            if name not in fields and name != "id":
                continue
            value = constant(other, names)
            if value is not NO_VALUE:
                out.append(Filter(name, "eq", plain_one(value)))
                break
    return out


NO_VALUE = object()


def constant(node: Mapping[str, Any], names: Mapping[str, Any]) -> Any:
    op = node.get("op")
    if op == "name" and JOIN in node["name"]:
        value = names.get(node["name"], NO_VALUE)
        return NO_VALUE if value is None else value
    if op == "text":
        return node["value"]
    if op == "number":
        return Decimal(node["value"])
    return NO_VALUE


def revive(runtime: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """Values kept in an event (money as text, dates as ISO text) as the rule reads them."""
    out: dict[str, Any] = dict(data)
    for key, value in data.items():
        if not isinstance(value, str) or key not in runtime.tables.fields:
            continue
        kind = runtime.definition.field(key).type
        try:
            if kind in ("number", "money", "percent"):
                out[key] = Decimal(value)
            elif kind == "date":
                out[key] = date.fromisoformat(value)
            elif kind == "datetime":
                out[key] = datetime.fromisoformat(value)
        except ValueError:
            continue
    return out
