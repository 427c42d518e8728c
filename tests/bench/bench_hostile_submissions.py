"""Hostile submissions: seconds for one ``CompiledForm.prepare`` that does far too much.

Three cases, each a single submission of ``--rows`` sub-table rows (10,000 by default,
``max_rows`` raised to allow them), prepared in memory (no database):

* ``invalid rows``: every row's ``qty`` is not a number and a row formula reads it, so
  every row carries an error (the error bookkeeping must stay linear in the rows).
* ``166 powers``: a 1,000-character column formula of 166 fractional powers. Each
  evaluation stays under the per-evaluation time budget; the form is refused at load
  once formulas have a static cost limit (the script then prints the load error).
* ``row aggregate``: a column formula that sums its own sub-table over 3,000 rows (at
  most ``--rows``), so the work is quadratic in the rows while each evaluation stays
  under its own budget (10,000 rows would trip that one); with a total submission budget
  (``--budget`` seconds, ``RecordEnvironment.deadline``) it ends with the ``budget``
  error instead of running to the end.

    python tests/bench/bench_hostile_submissions.py [--rows 10000] [--budget 10]

Printed, never asserted.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.definitions import load_app_text  # noqa: E402
from engine.errors import DefinitionErrors, RecordValidationError  # noqa: E402
from engine.runtime.forms import RecordEnvironment, compile_form  # noqa: E402

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
#: 166 powers with a fractional exponent, 1,000 characters with the MAX( )
POWERS = "MAX(" + ",".join(["q**.7"] * 166) + ")"

APP = """
app: hostile
version: 1.0.0
name: Hostile
---
form: order
name: Order
fields:
  lines:
    type: subtable
    max_rows: 10000
    fields:
      q:      {{type: number}}
      price:  {{type: number}}
      amount: {{type: formula, expr: "{expr}"}}
"""

CASES = {
    "invalid rows": ("q * price", lambda i: {"q": "not a number", "price": 2}),
    "166 powers": (POWERS, lambda i: {"q": i % 97 + 1, "price": 2}),
    "row aggregate": ("price / SUM(lines.price)", lambda i: {"q": 1, "price": i % 97 + 1}),
}


def _fetch(form_key: str, record_id: int) -> None:
    return None


def run(name: str, rows: int, budget: float | None) -> str:
    """One case: what happened and how long the load and the prepare took."""
    expr, row = CASES[name]
    if name == "row aggregate":
        rows = min(rows, 3_000)
    started = time.perf_counter()
    try:
        form = load_app_text(APP.format(expr=expr)).form("order")
    except DefinitionErrors as error:
        took = time.perf_counter() - started
        return f"refused at load in {took:.3f} s: {error.errors[0]}"
    compiled = compile_form(form)
    data = {"lines": [row(i) for i in range(rows)]}
    deadline = None if budget is None else time.monotonic() + budget
    try:
        env = RecordEnvironment(NOW, "bench.user", None, _fetch, deadline=deadline)
    except TypeError:  # an engine without a submission budget
        env = RecordEnvironment(NOW, "bench.user", None, _fetch)
    started = time.perf_counter()
    try:
        compiled.prepare(data, env=env)
        outcome = "saved"
    except RecordValidationError as error:
        codes = sorted({e.code for e in error.errors})
        outcome = f"refused: {len(error.errors)} error(s), codes {', '.join(codes)}"
    return f"{rows} rows, prepare {time.perf_counter() - started:7.2f} s  {outcome}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="sub-table rows")
    parser.add_argument(
        "--budget", type=float, default=10.0, help="submission budget in seconds (0: none)"
    )
    parser.add_argument("--case", choices=sorted(CASES), action="append", help="only these")
    args = parser.parse_args()
    budget = args.budget or None
    for name in args.case or CASES:
        print(f"{name:14s}: {run(name, args.rows, budget)}", flush=True)


if __name__ == "__main__":
    main()
