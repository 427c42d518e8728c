"""Micro-benchmark: microseconds per ``CompiledForm.prepare`` (and title render).

Uses the purchase-request form of the submit benchmark (``_common.BENCH_APP``) with 2
and with 20 sub-table lines, an in-memory ``fetch_record`` (no database), so the numbers
are the runtime's own cost per record. Printed, never asserted.

    python tests/bench/bench_prepare.py [--repeat 2000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_APP  # noqa: E402

from engine.definitions import load_app_text  # noqa: E402
from engine.runtime.forms import RecordEnvironment, compile_form  # noqa: E402

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SUPPLIERS = {i: {"id": i, "name": f"S{i}", "city": None} for i in range(1, 51)}


def _fetch(form_key: str, record_id: int):
    return SUPPLIERS.get(record_id) if form_key == "supplier" else None


def payload(lines: int) -> dict:
    pattern = [
        {"item": "paper", "qty": 3, "price": "12.50"},
        {"item": "ink", "qty": 1, "price": "99.00"},
    ]
    return {
        "supplier": 7,
        "needed_by": "2026-02-01",
        "lines": [dict(pattern[i % 2]) for i in range(lines)],
    }


def per_call_us(action, repeat: int) -> float:
    """Best of 5 rounds of ``repeat`` calls, in microseconds per call."""
    for _ in range(max(repeat // 10, 1)):
        action()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeat):
            action()
        best = min(best, time.perf_counter() - start)
    return best / repeat * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000, help="calls per round")
    parser.add_argument("--profile", action="store_true", help="cProfile the 2-line case")
    args = parser.parse_args()

    form = load_app_text(BENCH_APP).form("purchase_request")
    compiled = compile_form(form)
    env = RecordEnvironment(NOW, "bench.user", None, _fetch, locale="zh-CN")

    if args.profile:
        data = payload(2)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.repeat):
            compiled.render_title(compiled.prepare(data, env=env), env=env)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return

    for lines in (2, 20):
        data = payload(lines)
        values = compiled.prepare(data, env=env)
        values["serial"] = "PR-20260105-000001"
        prepare = per_call_us(lambda d=data: compiled.prepare(d, env=env), args.repeat)
        title = per_call_us(lambda v=values: compiled.render_title(v, env=env), args.repeat)
        print(
            f"purchase_request, {lines:2d} lines: prepare {prepare:7.1f} us   "
            f"render_title {title:5.1f} us"
        )


if __name__ == "__main__":
    main()
