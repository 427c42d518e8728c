"""Tiered rates and proportional splits: TIER, ALLOCATE, ALLOCATE_SHARE.

TIER reads a band table: a sub-table (rows with ``lower``, ``upper``, ``rate`` and an
optional ``fixed_amount``) or a list literal of ``[lower, upper, rate]`` triples. Bands
are half-open, ``[lower, upper)``; a blank upper bound means no bound and is allowed on
the highest band only. ``rate`` is the multiplier: a ``percent`` column already holds
the fraction (2% is stored as 0.02), and a plain number column must hold 0.02 too.

The result is exact (1,999,999.99 at 2% is 39,999.9998): a ``money`` formula field
rounds it half-up to the cent when it is stored, and ROUND(..., 2) does the same inline.

ALLOCATE splits an amount in cents over weights by the largest-remainder method, so the
shares always add up to the amount exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from engine.errors import ExpressionError
from engine.expressions.functions.aggregates import check_deadline
from engine.expressions.functions.spec import FunctionSpec
from engine.expressions.limits import ROWS_PER_TIME_CHECK
from engine.expressions.values import DECIMAL, format_number, is_blank, is_number, kind
from engine.expressions.values import to_decimal as _to_decimal

#: accepted spellings of TIER's mode (compared case-insensitively)
WHOLE_MODES = frozenset({"whole", "全额"})
PROGRESSIVE_MODES = frozenset({"progressive", "超额"})
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Band:
    """One band of a tier table: ``[lower, upper)`` paying ``rate`` or ``fixed_amount``."""

    lower: Decimal
    upper: Decimal | None
    rate: Decimal | None
    fixed_amount: Decimal | None
    position: int  # 1-based position in the table as written, for messages


def _number_or_blank(value: Any, what: str) -> Decimal | None:
    if is_blank(value):
        return None
    if not is_number(value):
        raise ExpressionError(f"TIER: {what} must be a number, got {kind(value)}")
    return _to_decimal(value)


def _band(row: Any, position: int) -> Band:
    where = f"band {position}"
    if isinstance(row, Mapping):
        lower, upper = row.get("lower"), row.get("upper")
        rate, fixed = row.get("rate"), row.get("fixed_amount")
    elif isinstance(row, list | tuple) and len(row) in (3, 4):
        lower, upper, rate = row[0], row[1], row[2]
        fixed = row[3] if len(row) == 4 else None
    else:
        raise ExpressionError(
            f"TIER: {where} must be a sub-table row or a list [lower, upper, rate], "
            f"got {kind(row)}",
            hint="for example [[0, 1000000, 0], [1000000, null, 0.02]]",
        )
    band = Band(
        lower=_number_or_blank(lower, f"the lower bound of {where}"),  # type: ignore[arg-type]
        upper=_number_or_blank(upper, f"the upper bound of {where}"),
        rate=_number_or_blank(rate, f"the rate of {where}"),
        fixed_amount=_number_or_blank(fixed, f"the fixed amount of {where}"),
        position=position,
    )
    if band.lower is None:
        raise ExpressionError(f"TIER: {where} has no lower bound", hint="fill in its lower value")
    if band.upper is not None and band.upper <= band.lower:
        raise ExpressionError(
            f"TIER: {where} has upper bound {format_number(band.upper)} not above its "
            f"lower bound {format_number(band.lower)}",
            hint="bands are [lower, upper): upper must be greater than lower",
        )
    if band.rate is None and band.fixed_amount is None:
        raise ExpressionError(f"TIER: {where} has neither a rate nor a fixed amount")
    if band.rate is not None and band.fixed_amount is not None and band.rate != 0:
        raise ExpressionError(
            f"TIER: {where} has both a rate and a fixed amount",
            hint="fill in one of them (a fixed amount pays that amount for the whole band)",
        )
    return band


def read_bands(tiers: Any, deadline: float) -> list[Band]:
    """The band table sorted by lower bound, checked to be contiguous with no gaps or
    overlaps and an open upper bound only on the last band; else a clear error."""
    if is_blank(tiers):
        raise ExpressionError("TIER: the tier table is empty", hint="add at least one band")
    if not isinstance(tiers, list | tuple):
        raise ExpressionError(
            f"TIER: the tiers must be a sub-table or a list of bands, got {kind(tiers)}",
            hint="for example TIER(amount, tiers, 'whole') with a sub-table named tiers",
        )
    bands = []
    for position, row in enumerate(tiers, start=1):
        if position % ROWS_PER_TIME_CHECK == 0:
            check_deadline(deadline)
        bands.append(_band(row, position))
    bands.sort(key=lambda band: band.lower)  # sub-table rows may be in any order
    for below, above in zip(bands, bands[1:], strict=False):
        if below.upper is None:
            raise ExpressionError(
                f"TIER: band {below.position} has no upper bound but band {above.position} "
                f"starts above it at {format_number(above.lower)}",
                hint="only the highest band may leave its upper bound blank",
            )
        if below.upper < above.lower:
            raise ExpressionError(
                f"TIER: gap between band {below.position} (ends at "
                f"{format_number(below.upper)}) and band {above.position} (starts at "
                f"{format_number(above.lower)})",
                hint="each band must start where the previous one ends",
            )
        if below.upper > above.lower:
            raise ExpressionError(
                f"TIER: band {below.position} (up to {format_number(below.upper)}) overlaps "
                f"band {above.position} (from {format_number(above.lower)})",
                hint="each band must start where the previous one ends",
            )
    return bands


def _mode(mode: Any) -> str:
    text = mode.strip().lower() if isinstance(mode, str) else None
    if text in WHOLE_MODES:
        return "whole"
    if text in PROGRESSIVE_MODES:
        return "progressive"
    shown = repr(mode) if isinstance(mode, str) else kind(mode)
    raise ExpressionError(
        f"TIER: unknown mode {shown}",
        hint="write 'whole' (the band's rate applies to the whole value) or 'progressive' "
        "(each band's slice at its own rate)",
    )


def _whole(value: Decimal, band: Band) -> Decimal:
    if band.fixed_amount is not None:
        return band.fixed_amount
    return DECIMAL.multiply(value, band.rate)  # type: ignore[arg-type]


def _progressive(value: Decimal, bands: list[Band]) -> Decimal:
    total = Decimal(0)
    for band in bands:
        if value < band.lower:
            break
        if band.fixed_amount is not None:
            raise ExpressionError(
                f"TIER: band {band.position} has a fixed amount, which only 'whole' mode uses",
                hint="give each band a rate in 'progressive' mode",
            )
        # A passed band counts (upper - lower) in full, the band holding the value only
        # (value - lower): [lower, upper) is half-open, so value == upper is the next band.
        top = value if band.upper is None or value < band.upper else band.upper
        slice_ = DECIMAL.subtract(top, band.lower)
        total = DECIMAL.add(total, DECIMAL.multiply(slice_, band.rate))  # type: ignore[arg-type]
    return total


def tier(
    deadline: float, value: Any, tiers: Any, mode: Any, cap: Any = None, floor: Any = None
) -> Decimal | None:
    """TIER: the amount a tier table gives for ``value`` ('whole' or 'progressive'),
    then limited to at most ``cap`` and at least ``floor`` when those are given.

    A blank value gives blank; a value below the lowest band gives 0; a value at or above
    a closed highest band is an error (leave its upper bound blank for no bound).
    """
    chosen = _mode(mode)
    bands = read_bands(tiers, deadline)
    number = _number_or_blank(value, "the value")
    cap_number = _number_or_blank(cap, "the cap (4th argument)")
    floor_number = _number_or_blank(floor, "the floor (5th argument)")
    if cap_number is not None and floor_number is not None and cap_number < floor_number:
        raise ExpressionError(
            f"TIER: the cap {format_number(cap_number)} is below the floor "
            f"{format_number(floor_number)}",
            hint="TIER(value, tiers, mode, cap, floor): the cap is the upper limit",
        )
    if number is None:
        return None
    last = bands[-1]
    if last.upper is not None and number >= last.upper:
        raise ExpressionError(
            f"TIER: the value {format_number(number)} is not below the highest band's upper "
            f"bound {format_number(last.upper)}",
            hint="leave the highest band's upper bound blank so it has no limit",
        )
    if number < bands[0].lower:
        result = Decimal(0)
    elif chosen == "whole":
        holding = next(b for b in reversed(bands) if b.lower <= number)
        result = _whole(number, holding)
    else:
        result = _progressive(number, bands)
    if cap_number is not None and result > cap_number:
        result = cap_number
    if floor_number is not None and result < floor_number:
        result = floor_number
    return result


def _cents(total: Any) -> int | None:
    if is_blank(total):
        return None
    if not is_number(total):
        raise ExpressionError(f"ALLOCATE: the total must be a number, got {kind(total)}")
    number = _to_decimal(total)
    cents = number.scaleb(2, context=DECIMAL)
    if cents != cents.to_integral_value():
        raise ExpressionError(
            f"ALLOCATE: the total {format_number(number)} has more than two decimal places",
            hint="round it first: ALLOCATE(ROUND(total, 2), ...)",
        )
    return int(cents)


def _weights(weights: Any, deadline: float) -> list[Fraction]:
    members = weights if isinstance(weights, list | tuple) else [weights]
    if not members:
        raise ExpressionError("ALLOCATE: there are no weights", hint="the sub-table has no rows")
    out = []
    for position, weight in enumerate(members, start=1):
        if position % ROWS_PER_TIME_CHECK == 0:
            check_deadline(deadline)
        if is_blank(weight):
            out.append(Fraction(0))  # keeps the shares aligned with the rows
            continue
        if not is_number(weight):
            raise ExpressionError(
                f"ALLOCATE: weight {position} must be a number, got {kind(weight)}"
            )
        number = _to_decimal(weight)
        if number < 0:
            raise ExpressionError(
                f"ALLOCATE: weight {position} is negative ({format_number(number)})",
                hint="weights must be 0 or more",
            )
        out.append(Fraction(number))
    return out


def allocate(deadline: float, total: Any, weights: Any) -> list[Decimal | None] | None:
    """ALLOCATE: ``total`` split over ``weights`` in cents by the largest remainder.

    Each share is total × weight / Σweights rounded down to the cent; the cents left over
    go one each to the largest remainders, and equal remainders go to the earlier
    position first. Blank and zero weights get 0.00. A negative total is split as its
    magnitude and every share negated. A blank total gives blank.
    """
    cents = _cents(total)
    parts = _weights(weights, deadline)
    if cents is None:
        return None
    weight_sum = sum(parts, Fraction(0))
    if weight_sum == 0:
        raise ExpressionError(
            "ALLOCATE: the weights add up to 0, so there is nothing to split by",
            hint="give at least one row a weight above 0",
        )
    sign, magnitude = (-1, -cents) if cents < 0 else (1, cents)
    exact = [magnitude * part / weight_sum for part in parts]
    shares = [int(share) for share in exact]  # floor: every share is >= 0
    leftover = magnitude - sum(shares)
    # sorted() is stable, so equal remainders keep their order: the earlier row first
    by_remainder = sorted(range(len(parts)), key=lambda i: exact[i] - shares[i], reverse=True)
    for index in by_remainder[:leftover]:
        shares[index] += 1
    return [Decimal(sign * share).scaleb(-2) for share in shares]


def allocate_share(deadline: float, total: Any, weights: Any, position: Any) -> Decimal | None:
    """ALLOCATE_SHARE: the share of row ``position`` (1 = first) of ALLOCATE(total, weights)."""
    if is_blank(position):
        return None
    if not is_number(position):
        raise ExpressionError(
            f"ALLOCATE_SHARE: the position must be a whole number, got {kind(position)}"
        )
    if _to_decimal(position) != _to_decimal(position).to_integral_value():
        raise ExpressionError(
            "ALLOCATE_SHARE: the position must be a whole number, got "
            f"{format_number(_to_decimal(position))}"
        )
    shares = allocate(deadline, total, weights)
    if shares is None:
        return None
    index = int(_to_decimal(position))
    if not 1 <= index <= len(shares):
        raise ExpressionError(
            f"ALLOCATE_SHARE: position {index} is outside the {len(shares)} weights",
            hint="positions count from 1 to the number of rows",
        )
    return shares[index - 1]


_BANDS = "[[0, 1000000, 0], [1000000, 2000000, 0.02], [2000000, null, 0.03]]"

SPECS = (
    FunctionSpec(
        "TIER",
        "TIER(value, tiers, mode, cap=None, floor=None)",
        "Amount from a band table (sub-table lower/upper/rate[/fixed_amount] or "
        "[lower, upper, rate] lists), bands [lower, upper); mode 'whole' (the band's rate "
        "on the whole value) or 'progressive' (each slice at its band's rate); exact, "
        "then limited to cap/floor.",
        f"TIER(2425000, {_BANDS}, 'progressive')",
        "32750.00",
        tier,
        3,
        5,
        needs="deadline",
    ),
    FunctionSpec(
        "ALLOCATE",
        "ALLOCATE(total, weights)",
        "Split a total (in cents) over weights such as lines.amount by the largest "
        "remainder: shares add up to the total; ties go to the earlier row.",
        "TEXT(ALLOCATE(100, [300, 300, 300]))",
        '"33.34, 33.33, 33.33"',
        allocate,
        2,
        2,
        needs="deadline",
        aggregate=True,
    ),
    FunctionSpec(
        "ALLOCATE_SHARE",
        "ALLOCATE_SHARE(total, weights, position)",
        "Row `position`'s share (1 = first) of ALLOCATE(total, weights), for a sub-table "
        "column formula.",
        "ALLOCATE_SHARE(1000, [52500, 25920, 6480], 3)",
        "76.33",
        allocate_share,
        3,
        3,
        needs="deadline",
        aggregate=True,
    ),
)
