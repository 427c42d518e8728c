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


@dataclass(frozen=True)
class LotPolicy:
    """A ledger's lots: the default expiry of a posted lot and the consumption order."""

    expires: ExpiryRule | None = None
    order: str = "nearest_expiry"


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
        lots = LotPolicy(
            expires=parse_expiry(lots_data.get("expires")),
            order=str(lots_data.get("order", "nearest_expiry")),
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
    "ledger_from_data",
    "ledger_from_source",
    "parse_expiry",
]
