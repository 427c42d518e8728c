"""Benchmark: evaluations per second of a compiled 10-term formula.

Compares ``compile_expression(...).evaluate`` with simpleeval called fresh each time on
the same text (what a naive integration would do) and with Python's own compiled
``eval`` of the same text (the ceiling: no blanks, no limits, no checks).
Run: ``python tests/bench/bench_expressions.py`` (about 10 seconds).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from simpleeval import simple_eval  # noqa: E402

from engine.expressions import compile_expression  # noqa: E402

FORMULA = "a*b + c*d - e/f + ROUND(g*h, 2) + IF(i > j, 1, 0) + k*l - m + n + o*p - q/r"
VALUES = {
    "a": Decimal("12"),
    "b": Decimal("9.99"),
    "c": Decimal("3.5"),
    "d": Decimal("2"),
    "e": Decimal("100"),
    "f": Decimal("8"),
    "g": Decimal("2.665"),
    "h": Decimal("1"),
    "i": Decimal("5"),
    "j": Decimal("3"),
    "k": Decimal("0.13"),
    "l": Decimal("250"),
    "m": Decimal("7.25"),
    "n": Decimal("1.10"),
    "o": Decimal("4"),
    "p": Decimal("0.25"),
    "q": Decimal("10"),
    "r": Decimal("3"),
}


def _round(x: Decimal, n: int = 0) -> Decimal:
    return x.quantize(Decimal(1).scaleb(-n), rounding=ROUND_HALF_UP)


def _if(condition: object, then: object, other: object) -> object:
    return then if condition else other


PY_FUNCTIONS = {"ROUND": _round, "IF": _if}


def measure(run: Callable[[], object], seconds: float) -> float:
    """Evaluations per second of ``run`` over about ``seconds`` (best of 3 rounds)."""
    best = 0.0
    for _ in range(3):
        count, started = 0, time.perf_counter()
        deadline = started + seconds / 3
        while True:
            for _ in range(200):
                run()
            count += 200
            now = time.perf_counter()
            if now >= deadline:
                break
        best = max(best, count / (now - started))
    return best


def main() -> None:
    compiled = compile_expression(FORMULA)
    python_code = compile(FORMULA, "<bench>", "eval")
    python_namespace = {"__builtins__": {}, **PY_FUNCTIONS}

    ours = compiled.evaluate(VALUES)
    reference = eval(python_code, python_namespace, VALUES)  # noqa: S307 - the benchmark ceiling
    fresh = simple_eval(FORMULA, names=VALUES, functions=PY_FUNCTIONS)
    assert ours == reference == fresh, (ours, reference, fresh)

    rows = [
        ("compiled (engine.expressions)", measure(lambda: compiled.evaluate(VALUES), 3.0)),
        (
            "simpleeval, fresh each time",
            measure(lambda: simple_eval(FORMULA, names=VALUES, functions=PY_FUNCTIONS), 3.0),
        ),
        (
            "Python eval of compiled code",
            measure(lambda: eval(python_code, python_namespace, VALUES), 3.0),  # noqa: S307
        ),
    ]
    ours_rate = rows[0][1]
    print(f"machine: {platform.platform()} | {platform.processor() or platform.machine()}")
    print(f"CPUs: {os.cpu_count()} | Python {platform.python_version()}")
    print(f"formula (10 terms, Decimal values): {FORMULA}")
    print(f"result: {ours}")
    print()
    print(f"{'method':<32}{'evals/s':>14}{'us/eval':>10}{'vs compiled':>13}")
    for name, rate in rows:
        print(f"{name:<32}{rate:>14,.0f}{1e6 / rate:>10.2f}{rate / ours_rate:>12.2f}x")
    print()
    print(f"speed-up over fresh simpleeval: {ours_rate / rows[1][1]:.1f}x")
    print(f"Python eval is {rows[2][1] / ours_rate:.2f}x the compiled formula's rate (the limit)")


if __name__ == "__main__":
    main()
