"""When a date-relative rule is due: the window arithmetic of ``before``/``after`` triggers.

A trigger ``{before: {field: end_date, days: 30}}`` is due for a record at
``end_date - 30 days``; a ``date`` field stands for its day at ``at`` (default 09:00,
Asia/Shanghai), a ``datetime`` field for its own moment. The scheduler's sweep fires
every record whose due moment fell in ``(last sweep, now]``; since the due moment grows
with the field, that is one range of field values, which :func:`field_window` gives, so
the records are found through an index on the field, never by scanning.

Pure code: no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.definitions.rules import DEFAULT_TIMEZONE, Trigger

ZONE = ZoneInfo(DEFAULT_TIMEZONE)


@dataclass(frozen=True)
class FieldWindow:
    """Field values whose due moment is in the swept window: ``low <= value <= high``
    (for a datetime field the low end is open: ``low < value``)."""

    low: date | datetime
    high: date | datetime
    low_open: bool

    @property
    def empty(self) -> bool:
        """No value fits (the window was shorter than a day for a date field)."""
        return self.low > self.high or (self.low_open and self.low >= self.high)


def offset(trigger: Trigger) -> timedelta:
    """How far the due moment is from the field's value: negative before, positive after."""
    span = timedelta(days=trigger.days, hours=trigger.hours)
    return -span if trigger.kind == "before" else span


def due_moment(trigger: Trigger, value: date | datetime) -> datetime:
    """The moment the trigger is due for a record whose field holds ``value``."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=ZONE)
    else:
        moment = datetime.combine(value, _time_of_day(trigger.at), ZONE)
    return moment + offset(trigger)


def field_window(
    trigger: Trigger, field_type: str, after: datetime, until: datetime
) -> FieldWindow:
    """The field values whose due moment is in ``(after, until]``."""
    shift = offset(trigger)
    low, high = after - shift, until - shift  # the field's own moments
    if field_type == "datetime":
        return FieldWindow(low.astimezone(ZONE), high.astimezone(ZONE), True)
    day_time = _time_of_day(trigger.at)
    # the first day whose moment (day at `at`) is after `low`, the last not after `high`
    low_local, high_local = low.astimezone(ZONE), high.astimezone(ZONE)
    first = low_local.date()
    if datetime.combine(first, day_time, ZONE) <= low_local:
        first += timedelta(days=1)
    last = high_local.date()
    if datetime.combine(last, day_time, ZONE) > high_local:
        last -= timedelta(days=1)
    return FieldWindow(first, last, False)


def _time_of_day(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))
