"""Durations as definitions write them: ``2 working days``, ``24 working hours``, ``30分钟``.

A :class:`Duration` is a whole number above 0 and one of five units. Plain units
(``minutes``, ``hours``, ``days``) are calendar arithmetic; working units
(``working_hours``, ``working_days``) count only the working time of the engine's
editable working calendar (:mod:`engine.runtime.working_time`, docs/calendar.md).

:func:`parse_duration` reads the English and Chinese spellings and refuses everything
else with a message that lists what is accepted; :meth:`Duration.to_data` gives the
canonical English text, which parses back to the same value. Pure: no imports from
the store, runtime or service.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

#: the units, in the order messages list them
UNITS = ("minutes", "hours", "days", "working_hours", "working_days")

#: the longest duration accepted: 10 years (of 366 days), in each unit
MAX_DAYS = 10 * 366
MAX_AMOUNT = MappingProxyType(
    {
        "minutes": MAX_DAYS * 24 * 60,
        "hours": MAX_DAYS * 24,
        "days": MAX_DAYS,
        "working_hours": MAX_DAYS * 24,
        "working_days": MAX_DAYS,
    }
)

#: canonical text of each unit: (singular, plural)
_NAMES = MappingProxyType(
    {
        "minutes": ("minute", "minutes"),
        "hours": ("hour", "hours"),
        "days": ("day", "days"),
        "working_hours": ("working hour", "working hours"),
        "working_days": ("working day", "working days"),
    }
)

#: every spelling accepted after the number (lower case, inner spaces collapsed)
_SPELLINGS = MappingProxyType(
    {
        "minute": "minutes",
        "minutes": "minutes",
        "分钟": "minutes",
        "hour": "hours",
        "hours": "hours",
        "小时": "hours",
        "个小时": "hours",
        "day": "days",
        "days": "days",
        "天": "days",
        "working hour": "working_hours",
        "working hours": "working_hours",
        "工作小时": "working_hours",
        "个工作小时": "working_hours",
        "working day": "working_days",
        "working days": "working_days",
        "工作日": "working_days",
        "个工作日": "working_days",
    }
)

#: a number (ASCII digits, at most 9 of them) and a unit, spaces allowed around both
_SHAPE = re.compile(r"\s*([0-9]{1,9})\s*(\S(?:.*\S)?)\s*", re.S)

ACCEPTED = (
    'a whole number above 0 and a unit: "30 minutes", "4 hours", "3 days", '
    '"24 working hours", "2 working days" (singular too: "1 hour", "1 working day"), '
    'or in Chinese "30分钟", "4小时", "3天", "24工作小时", "2个工作日" / "2工作日"; '
    f"at most 10 years ({MAX_DAYS} days, {MAX_DAYS * 24} hours, {MAX_DAYS * 24 * 60} minutes)"
)


@dataclass(frozen=True)
class Duration:
    """A whole number of minutes, hours, days, working hours or working days (above 0)."""

    amount: int
    unit: str

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unknown duration unit {self.unit!r}: use one of {', '.join(UNITS)}")
        if type(self.amount) is not int:
            raise ValueError(
                f"a duration's amount must be a whole number (int), not "
                f"{type(self.amount).__name__}: {ACCEPTED}"
            )
        limit = MAX_AMOUNT[self.unit]
        if not 0 < self.amount <= limit:
            raise ValueError(
                f"a duration in {_NAMES[self.unit][1]} must be from 1 to {limit}, "
                f"not {self.amount}: {ACCEPTED}"
            )

    @property
    def working(self) -> bool:
        """Whether the duration counts working time only (needs the working calendar)."""
        return self.unit.startswith("working_")

    def to_data(self) -> str:
        """The canonical text (``24 working hours``, ``1 working day``): parses back to self."""
        singular, plural = _NAMES[self.unit]
        return f"{self.amount} {singular if self.amount == 1 else plural}"

    def __str__(self) -> str:
        return self.to_data()


def parse_duration(text: str) -> Duration:
    """The duration ``text`` writes; ValueError saying what is accepted otherwise.

    Refused: anything but text (an int, a bool, a float), blank text, fractions
    (``1.5 hours``), zero, signs, units not listed (``2 weeks``), more than 10 years.
    """
    if not isinstance(text, str):
        raise ValueError(f"a duration must be text, not {type(text).__name__} {text!r}: {ACCEPTED}")
    match = _SHAPE.fullmatch(text)
    unit = None
    if match is not None:
        spelling = " ".join(match.group(2).lower().split())
        unit = _SPELLINGS.get(spelling)
    if match is None or unit is None:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise ValueError(f"cannot read {shown!r} as a duration: write {ACCEPTED}")
    amount = int(match.group(1))
    if not 0 < amount <= MAX_AMOUNT[unit]:
        raise ValueError(
            f"{text.strip()!r}: a duration in {_NAMES[unit][1]} must be from 1 to "
            f"{MAX_AMOUNT[unit]}: write {ACCEPTED}"
        )
    return Duration(amount, unit)
