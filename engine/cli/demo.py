"""``lowcode demo``: a walk-through of the examples on a fresh SQLite database.

It installs ``examples/leave_request`` and ``examples/purchase_request``, enters a few
suppliers, products and requests through the service facade (so formulas, serial
numbers, fill_from and validations all run), shows what a mistake looks like, and
lists the results. Issue 6 replaces it with the web demo.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

from engine.cli.commands import open_service
from engine.cli.output import CommandFailed, format_table
from engine.service import (
    Actor,
    RecordValidationError,
    Service,
    ServiceError,
    load_app,
    sqlite_file,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

SUPPLIERS = [
    {
        "name": "杭州云栖包装有限公司",
        "contact": "王磊",
        "mobile": "13805710001",
        "uscc": "91350100M000100Y43",
        "address": "浙江省 杭州市 西湖区 文三路 90 号",
    },
    {"name": "Suzhou Bright Paper Co.", "contact": "Li Na", "mobile": "13912340002"},
    {"name": "宁波海联物流", "contact": "陈刚", "mobile": "13600000003", "state": "paused"},
]
PRODUCTS = [
    {"sku": "BOX-A4", "name": "A4 纸箱", "unit": "箱", "price": "19.99"},
    {"sku": "TAPE-48", "name": "封箱胶带 48mm", "unit": "卷", "price": "3.50"},
    {"sku": "LABEL-100", "name": "物流标签 100 张", "unit": "包", "price": "12.80"},
    {"sku": "PALLET", "name": "木托盘", "unit": "个", "price": "85.00"},
]


def _print_step(title: str) -> None:
    print(f"\n== {title}")


def run_demo(args: argparse.Namespace) -> int:
    """Run the walk-through; returns 0 when every step behaved as expected."""
    try:
        database_file = sqlite_file(args.demo_database)
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    if database_file is not None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database_file}{suffix}").unlink(missing_ok=True)
    service = open_service(args, must_exist=False)
    service.init_database()
    admin = Actor("admin", roles=frozenset({"admin"}), department="purchasing")
    buyer = Actor("zhang.wei", roles=frozenset({"purchasing"}), department="purchasing")

    _print_step(f"Installing the examples into {args.demo_database}")
    for folder in ("leave_request", "purchase_request"):
        report = service.install_app(admin, load_app(EXAMPLES / folder))
        print(report.summary())

    _print_step("Suppliers and products")
    suppliers = [service.create_record(admin, "purchase", "supplier", s) for s in SUPPLIERS]
    products = [service.create_record(admin, "purchase", "product", p) for p in PRODUCTS]
    for record in suppliers + products:
        print(f"  #{record.id} {record.title}")

    _print_step("Purchase requests: prices are copied from the product, amounts computed")
    today = service.today()
    orders = [
        [(products[0], 3), (products[1], 10)],
        [(products[3], 12), (products[2], 5)],
        [(products[0], 1000)],
    ]
    for index, lines in enumerate(orders):
        data = {
            "supplier": suppliers[index % 2].id,
            "needed_by": (today + timedelta(days=7 + index)).isoformat(),
            "lines": [{"product": p.id, "qty": qty} for p, qty in lines],
        }
        record = service.create_record(buyer, "purchase", "purchase_request", data)
        amounts = " + ".join(
            f"{row['qty']} × {row['price']} = {row['amount']}" for row in record.values["lines"]
        )
        print(f"  {record.title}\n      {amounts}")

    _print_step("A mistake is reported field by field, and nothing is saved")
    bad = {
        "supplier": suppliers[0].id,
        "needed_by": (today - timedelta(days=1)).isoformat(),
        "lines": [{"product": products[0].id, "qty": 0}],
        "urgent": True,
    }
    try:
        service.create_record(buyer, "purchase", "purchase_request", bad)
        print("  unexpected: the bad request was accepted")
        return 1
    except RecordValidationError as exc:
        for error in exc.errors:
            print(f"  {error}")

    _print_step("Leave requests")
    leave = {
        "leave_type": "annual",
        "start_date": (today + timedelta(days=3)).isoformat(),
        "end_date": (today + timedelta(days=5)).isoformat(),
        "reason": "回老家 / family visit",
    }
    record = service.create_record(buyer, "leave", "leave_request", leave)
    print(f"  #{record.id} {record.title}: {record.values['days']} days")

    _print_step("Requests of ¥1,000 or more, largest first")
    _print_listing(service, admin)
    print(
        "\nTry it yourself:\n"
        f"  lowcode --database {args.demo_database} records list purchase purchase_request"
        " --where 'total>=100' --sort -total\n"
        f"  lowcode --database {args.demo_database} records show purchase purchase_request 1\n"
        "  lowcode check examples/purchase_request"
    )
    return 0


def _print_listing(service: Service, actor: Actor) -> None:
    page = service.query_records(
        actor,
        "purchase",
        "purchase_request",
        filters=[("total", "ge", "1000")],
        sort=["-total"],
    )
    rows = [(r.title or "", str(r.values["needed_by"])) for r in page.items]
    print(format_table(("request", "needed_by"), rows))
