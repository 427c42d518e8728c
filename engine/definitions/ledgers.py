"""Ledgers as immutable values: accounts keyed by fields, a floor, lots with expiry.

A ledger document (``ledgers/<name>.yaml``) declares one ledger::

    ledger: credit_points
    name: {zh-CN: 积分账户, en: Credit points}
    account: [holder, kind]          # the key of an account: values given by each action
    floor: 0                         # a balance never goes below it (default 0)
    decimals: 2                      # amounts carry at most this many decimals (0..4)
    timezone: Asia/Shanghai          # the zone a lot's expiry date is read in
    lots:                            # omit for a ledger without lots (a deposit)
      expires: 12 months end of month   # default expiry of a posted lot (or none)
      order: nearest_expiry          # or fifo: which lots a consumption takes first
      remind:                        # optional: a message before a lot expires
        before: 30 days              # due from 00:00 of (last day - 30 days)
        notify: {to: [{role: finance}], title: "...", message: "..."}

Entries are appended by the rule actions ``post``, ``hold``, ``release``, ``consume``
and ``reverse`` (:data:`LEDGER_ACTIONS`; docs/ledgers.md); nothing edits or deletes one.

Pure code: no database, no web.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from engine.definitions.model import I18nText, content_hash
from engine.definitions.rules import LEDGER_ACTIONS, _plain

#: how a ledger with lots picks the lots a consumption takes from
LOT_ORDERS = ("fifo", "nearest_expiry")
#: the kinds of entry (what the ``kind`` column of an entry may hold)
ENTRY_KINDS = ("post", "hold", "release", "consume", "reverse", "expire")
DEFAULT_TIMEZONE = "Asia/Shanghai"
MAX_DECIMALS = 4

_EXPIRY = re.compile(
    r"^\s*(?P<count>\d{1,4})\s+(?P<unit>days?|months?|years?)"
    r"(?P<end>\s+end\s+of\s+month)?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ExpiryRule:
    """When a lot posted on a day expires: ``12 months end of month`` is (12, month, True).

    The lot is usable through the day :meth:`expires_on` returns and expired from 00:00
    of the next day in the ledger's time zone.
    """

    count: int
    unit: str  # day | month | year
    end_of_month: bool = False

    def expires_on(self, posted: date) -> date:
        """The last day a lot posted on ``posted`` can be used."""
        if self.unit == "day":
            return posted + timedelta(days=self.count)
        months = self.count * (12 if self.unit == "year" else 1)
        index = posted.year * 12 + posted.month - 1 + months
        year, month = divmod(index, 12)
        last = calendar.monthrange(year, month + 1)[1]
        if self.end_of_month:
            return date(year, month + 1, last)
        return date(year, month + 1, min(posted.day, last))

    def text(self) -> str:
        """How it is written."""
        unit = self.unit + ("s" if self.count != 1 else "")
        return f"{self.count} {unit}" + (" end of month" if self.end_of_month else "")


def parse_expiry(text: Any) -> ExpiryRule | None:
    """The rule written as ``N days|months|years [end of month]``, or None."""
    if not isinstance(text, str):
        return None
    match = _EXPIRY.match(text)
    if match is None:
        return None
    unit = match["unit"].lower().rstrip("s")
    end = match["end"] is not None
    if end and unit == "day":
        return None
    return ExpiryRule(int(match["count"]), unit, end)


_BEFORE = re.compile(r"^\s*(?P<count>\d{1,4})\s+(?P<unit>days?|weeks?)\s*$", re.IGNORECASE)


def parse_before(text: Any) -> int | None:
    """How many days ``before`` reads (``N days`` or ``N weeks``; a bare whole number is
    days), or None when it cannot be read."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text if 0 <= text <= 3660 else None
    if not isinstance(text, str):
        return None
    match = _BEFORE.match(text)
    if match is None:
        return None
    days = int(match["count"]) * (7 if match["unit"].lower().startswith("w") else 1)
    return days if days <= 3660 else None


#: what a reminder's templates see besides the account values (record.<name>)
REMINDER_NAMES = (
    "ledger",
    "ledger_name",
    "lot",
    "original",
    "remaining",
    "posted_on",
    "expires_on",
    "days_left",
    "title",
)


@dataclass(frozen=True)
class LotReminder:
    """A message before a lot expires: due from 00:00 (the ledger's zone) of the day
    ``days`` before the lot's last usable day, sent once per lot that still has
    something left. ``notify`` is a rule's notify (people with ``to:``, or a group
    robot with ``channel:``); its templates see the lot as ``record``."""

    days: int
    notify: Mapping[str, Any] = field(default_factory=dict)

    def due_on(self, last_day: date) -> date:
        """The first day the reminder of a lot usable through ``last_day`` is due."""
        return last_day - timedelta(days=self.days)

    def last_days_due(self, today: date) -> date:
        """The latest last-usable-day whose reminder is due ``today``."""
        return today + timedelta(days=self.days)


@dataclass(frozen=True)
class LotPolicy:
    """A ledger's lots: the default expiry of a posted lot, the consumption order and
    the reminder before a lot expires."""

    expires: ExpiryRule | None = None
    order: str = "nearest_expiry"
    remind: LotReminder | None = None


@dataclass(frozen=True)
class LedgerDefinition:
    """One ledger: the fields that key an account, the floor, decimals and lots."""

    key: str
    account: tuple[str, ...]
    floor: Decimal = Decimal(0)
    decimals: int = 2
    lots: LotPolicy | None = None
    timezone: str = DEFAULT_TIMEZONE
    name: I18nText | None = None
    source_file: str | None = field(default=None, compare=False, repr=False)
    line: int = field(default=0, compare=False)
    #: what it was built from, to store it and build it again in another process
    source: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def content_hash(self) -> str:
        """SHA-256 of the ledger's canonical content (locations excluded)."""
        return content_hash(self)

    @property
    def quantum(self) -> Decimal:
        """The smallest amount: 0.01 for two decimals."""
        return Decimal(1).scaleb(-self.decimals)

    def label(self, locale: str = "zh-CN") -> str:
        """The ledger's name in ``locale``, or its key."""
        return self.name.get(locale) if self.name else self.key


def ledger_from_data(
    data: Mapping[str, Any], source_file: str | None = None, line: int = 0
) -> LedgerDefinition:
    """A :class:`LedgerDefinition` from a checked ledger document."""
    lots_data = data.get("lots")
    lots = None
    if isinstance(lots_data, Mapping):
        remind_data = lots_data.get("remind")
        remind = None
        if isinstance(remind_data, Mapping):
            days = parse_before(remind_data.get("before"))
            notify = remind_data.get("notify")
            if days is not None and isinstance(notify, Mapping):
                remind = LotReminder(days, _plain(notify))
        lots = LotPolicy(
            expires=parse_expiry(lots_data.get("expires")),
            order=str(lots_data.get("order", "nearest_expiry")),
            remind=remind,
        )
    elif lots_data is True:
        lots = LotPolicy()
    account = data["account"]
    return LedgerDefinition(
        key=data["ledger"],
        account=(account,) if isinstance(account, str) else tuple(account),
        floor=Decimal(str(data.get("floor", 0))),
        decimals=int(data.get("decimals", 2)),
        lots=lots,
        timezone=str(data.get("timezone", DEFAULT_TIMEZONE)),
        name=I18nText.of(data.get("name")),
        source_file=source_file,
        line=line,
        source={"data": _plain(data), "file": source_file, "line": line},
    )


def ledger_from_source(source: Mapping[str, Any]) -> LedgerDefinition:
    """A ledger built again from its stored ``source``."""
    return ledger_from_data(source["data"], source.get("file"), source.get("line", 0))


__all__ = [
    "ENTRY_KINDS",
    "LEDGER_ACTIONS",
    "LOT_ORDERS",
    "ExpiryRule",
    "LedgerDefinition",
    "LotPolicy",
    "LotReminder",
    "REMINDER_NAMES",
    "ledger_from_data",
    "ledger_from_source",
    "parse_before",
    "parse_expiry",
]
