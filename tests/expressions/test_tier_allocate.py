"""TIER and ALLOCATE beyond the shared case table (formula_cases.py holds the C5 and C18
figures, boundaries and error messages, checked in Python and in formula.js): hints,
columns, the largest-remainder guarantees over many random splits, and blanks."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from engine.errors import ExpressionError
from engine.expressions import compile_expression
from engine.expressions.reference import example_context

BANDS = "[[0, 1000000, 0], [1000000, 2000000, 0.02], [2000000, null, 0.03]]"


def run(source: str, **values):
    return compile_expression(source).evaluate(values, example_context())


def failure(source: str, **values) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        run(source, **values)
    return caught.value


@pytest.mark.parametrize(
    "basis, whole, progressive",
    [
        ("2425000.00", "72750.00", "32750.00"),
        ("2000000.00", "60000.00", "20000.00"),
        ("1999999.99", "40000.00", "20000.00"),
        ("1000000.00", "20000.00", "0.00"),
        ("999999.99", "0.00", "0.00"),
    ],
)
def test_c5_figures_rounded_to_the_cent(basis, whole, progressive):
    value = Decimal(basis)
    assert run(f"ROUND(TIER(v, {BANDS}, 'whole'), 2)", v=value) == Decimal(whole)
    assert run(f"ROUND(TIER(v, {BANDS}, 'progressive'), 2)", v=value) == Decimal(progressive)


def test_progressive_pays_a_passed_band_for_its_width_only():
    # 2,000,000.00 has passed [1,000,000, 2,000,000): 1,000,000 x 2%, and 0 x 3% of its own
    assert run(f"TIER(2000000, {BANDS}, 'progressive')") == Decimal("20000.00")
    # one cent further pays 3% of that cent
    assert run(f"TIER(2000000.01, {BANDS}, 'progressive')") == Decimal("20000.0003")


def test_errors_say_what_to_fix_and_where():
    gap = failure("TIER(5, [[0, 10, 0.01], [12, null, 0.02]], 'whole')")
    assert gap.hint == "each band must start where the previous one ends"
    assert gap.column == 1
    mode = failure(f"1 + TIER(5, {BANDS}, 'flat')")
    assert mode.message == "TIER: unknown mode 'flat'"
    assert "'whole'" in mode.hint and "'progressive'" in mode.hint
    assert mode.column == 5
    top = failure("TIER(10, [[0, 10, 0.01]], 'whole')")
    assert top.hint == "leave the highest band's upper bound blank so it has no limit"
    cents = failure("ALLOCATE(10.005, [1, 1])")
    assert cents.hint == "round it first: ALLOCATE(ROUND(total, 2), ...)"


def test_tiers_must_be_a_table_not_a_column():
    with pytest.raises(ExpressionError) as caught:
        compile_expression("TIER(5, tiers.rate, 'whole')")
    assert "tiers.rate is allowed only inside" in caught.value.message


def test_allocate_shares_always_add_up_and_stay_within_a_cent_of_the_exact_share():
    generator = random.Random(20250705)
    for _ in range(500):
        count = generator.randint(1, 12)
        weights = [Decimal(generator.randint(0, 10**7)) / 100 for _ in range(count)]
        if not any(weights):
            weights[0] = Decimal(1)
        total = Decimal(generator.randint(-(10**8), 10**8)) / 100
        shares = run("ALLOCATE(t, w)", t=total, w=weights)
        assert len(shares) == count
        assert sum(shares) == total
        weight_sum = sum(weights)
        for share, weight in zip(shares, weights, strict=True):
            assert share.as_tuple().exponent == -2
            assert abs(share - total * weight / weight_sum) < Decimal("0.01")


def test_allocate_share_reads_each_row_of_a_subtable_column():
    lines = [{"amount": Decimal("300.00")} for _ in range(3)]
    shares = [run(f"ALLOCATE_SHARE(100, lines.amount, {n})", lines=lines) for n in (1, 2, 3)]
    assert shares == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert run("ALLOCATE_SHARE(100, lines.amount, n)", lines=lines, n=None) is None
