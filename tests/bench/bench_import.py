"""Benchmark of the import (issue 17): a 100,000-row × 10-column xlsx imported through the
engine against python-calamine's own read of the same file.

The workbook is written once with XlsxWriter (as Excel or WPS would store it: numbers as
numbers, dates as date cells, text as shared strings) with the columns an operations
team sends: SKU (unique), name, category (an option's label), price as text the way
people type it (``¥1,200.50``), cost as a number, stock, a launch date, active as 是/否,
the supplier by name (a relation resolved through the actor's scope) and a remark. One
row in a hundred is bad (a negative price), so the per-row error path is exercised.

Engine side: ``service.imports.run(..., mode="valid", dry_run=False)``: read, map,
convert, validate, insert with revisions, audit and outbox events, per-row errors.
Baseline: ``CalamineWorkbook.from_path(...).get_sheet_by_index(0).to_python()``, the read
alone. Each side runs in its own child process (so the peak resident set is the side's
own); the two alternate ``--rounds`` times and the medians are compared. Each engine
round imports into a fresh database. Target: engine <= 6x the read, peak RSS < 300 MB,
on SQLite and PostgreSQL. Printed, never asserted.

    python tests/bench/bench_import.py [--rows 100000] [--rounds 3]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

APP = """
app: imp
version: 1.0.0
name: {zh-CN: 商品导入, en: Product import}
---
form: supplier
name: {zh-CN: 供应商, en: Supplier}
title: "{{ name }}"
fields:
  name: {type: text, required: true, unique: true, label: {zh-CN: 名称, en: Name}}
permissions: {}
---
form: product
name: {zh-CN: 商品, en: Product}
title: "{{ sku }} {{ name }}"
fields:
  sku:      {type: text, required: true, unique: true, label: {zh-CN: 商品编码, en: SKU}}
  name:     {type: text, required: true, label: {zh-CN: 商品名称, en: Name}}
  category:
    type: select
    label: {zh-CN: 品类, en: Category}
    options:
      - {value: drink, label: {zh-CN: 饮料, en: Drinks}}
      - {value: snack, label: {zh-CN: 零食, en: Snacks}}
      - {value: dairy, label: {zh-CN: 乳品, en: Dairy}}
  price:    {type: money, min: 0.01, label: {zh-CN: 单价, en: Price}}
  cost:     {type: money, min: 0, label: {zh-CN: 成本, en: Cost}}
  stock:    {type: number, precision: 0, label: {zh-CN: 库存, en: Stock}}
  launched: {type: date, label: {zh-CN: 上市日期, en: Launched}}
  active:   {type: boolean, label: {zh-CN: 在售, en: Active}}
  supplier: {type: relation, to: supplier, display: name, label: {zh-CN: 供应商, en: Supplier}}
  remark:   {type: textarea, label: {zh-CN: 备注, en: Remark}}
permissions: {}
"""
HEADERS = [
    "商品编码",
    "商品名称",
    "品类",
    "单价",
    "成本",
    "库存",
    "上市日期",
    "在售",
    "供应商",
    "备注",
]
SUPPLIERS = 50
CATEGORIES = ["饮料", "零食", "乳品"]


def write_workbook(path: Path, rows: int) -> int:
    """The benchmark's xlsx; the number of rows that must fail (one in a hundred)."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("商品")
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, HEADERS)
    bad = 0
    start = date(2024, 1, 1)
    for n in range(rows):
        price = f"¥{1 + n % 1500:,}.50"
        if n % 100 == 99:
            price, bad = "-5.00", bad + 1
        r = n + 1
        sheet.write_string(r, 0, f"SKU-{n:07d}")
        sheet.write_string(r, 1, f"商品 {n}")
        sheet.write_string(r, 2, CATEGORIES[n % 3])
        sheet.write_string(r, 3, price)
        sheet.write_number(r, 4, round(0.5 + n % 700 * 0.25, 2))
        sheet.write_number(r, 5, n % 1000)
        sheet.write_datetime(r, 6, start + timedelta(days=n % 700), dates)
        sheet.write_string(r, 7, "是" if n % 4 else "否")
        sheet.write_string(r, 8, f"供应商{n % SUPPLIERS:02d}")
        sheet.write_string(r, 9, "常规补货" if n % 2 else "")
    book.close()
    return bad


def read_side(path: str) -> dict:
    """The baseline, in a child process: calamine reads every cell."""
    from python_calamine import CalamineWorkbook

    start = time.perf_counter()
    rows = CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python()
    elapsed = time.perf_counter() - start
    return {"seconds": elapsed, "rows": len(rows) - 1}


def engine_side(path: str, url: str) -> dict:
    """The engine, in a child process: a fresh database, the app, suppliers, the import."""
    from engine.definitions import load_app_text
    from engine.service import SYSTEM_ACTOR, Service

    service = Service(url)
    service.init_database()
    service.install_app(SYSTEM_ACTOR, load_app_text(APP))
    service.create_records(
        SYSTEM_ACTOR, "imp", "supplier", [{"name": f"供应商{i:02d}"} for i in range(SUPPLIERS)]
    )
    data = Path(path).read_bytes()
    start = time.perf_counter()
    report = service.imports.run(
        SYSTEM_ACTOR, "imp", "product", data, "products.xlsx", mode="valid", dry_run=False
    )
    elapsed = time.perf_counter() - start
    total = service.query_records(SYSTEM_ACTOR, "imp", "product", page_size=1).total
    service.close()
    return {
        "seconds": elapsed,
        "created": report.created,
        "failed": report.failed,
        "stored": total,
    }


def _child(side: str, path: str, url: str = "") -> dict:
    """Run one side in a fresh interpreter; its result and peak resident set (MB)."""
    code = (
        f"import json, resource, sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); import bench_import as b; "
        f"out = b.{side}(*sys.argv[1:]); "
        "out['rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; "
        "print(json.dumps(out))"
    )
    args = [sys.executable, "-c", code, path] + ([url] if url else [])
    done = subprocess.run(args, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{side} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def one_round(name: str, path: str, url: str, bad: int, rows: int) -> tuple[float, float, float]:
    """Read then import once (each in its own process); (read s, import s, import RSS MB)."""
    read = _child("read_side", path)
    result = _child("engine_side", path, url)
    assert result["created"] == rows - bad, result
    assert result["failed"] == bad and result["stored"] == rows - bad, result
    print(
        f"  {name} round: read {read['seconds']:.2f} s, import {result['seconds']:.2f} s, "
        f"import peak RSS {result['rss_mb']:.0f} MB (read {read['rss_mb']:.0f} MB)"
    )
    return read["seconds"], result["seconds"], result["rss_mb"]


def summary(name: str, rounds: list[tuple[float, float, float]], rows: int) -> None:
    read_s = statistics.median(r[0] for r in rounds)
    import_s = statistics.median(r[1] for r in rounds)
    print(
        f"{name}: calamine read {read_s:.2f} s, engine import {import_s:.2f} s "
        f"({rows / import_s:,.0f} rows/s), ratio {import_s / read_s:.1f}x (target <= 6x), "
        f"peak RSS {max(r[2] for r in rounds):.0f} MB (target < 300 MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", help="server URL; a throwaway database per round")
    args = parser.parse_args()
    from importlib import metadata

    from _common import machine, postgres_database

    print(machine({"python-calamine": metadata.version("python-calamine")}))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "products.xlsx"
        bad = write_workbook(path, args.rows)
        print(
            f"workbook: {args.rows:,} rows x 10 columns, {bad} bad, {path.stat().st_size:,} bytes"
        )
        rounds = [
            one_round("SQLite", str(path), f"sqlite:///{folder}/round{i}.db", bad, args.rows)
            for i in range(args.rounds)
        ]
        summary("SQLite", rounds, args.rows)
        if args.postgres:
            rounds = []
            for _ in range(args.rounds):
                with postgres_database(args.postgres, "lowcode_import") as url:
                    rounds.append(one_round("PostgreSQL", str(path), url, bad, args.rows))
            summary("PostgreSQL", rounds, args.rows)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
