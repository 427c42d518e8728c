"""``lowcode demo``: a walk-through of the examples on a fresh SQLite database.

It loads the example organisation (``examples/org.yaml``: departments, roles, regions,
dealers and their portal users, with demo passwords), installs
``examples/leave_request``, ``examples/purchase_request`` and ``examples/dealer_orders``,
enters a few suppliers, products and requests through the service facade (so formulas,
serial numbers, fill_from and validations all run), shows what a mistake looks like,
then shows permissions at work: each dealer and manager sees only their rows, and
dealers never see cost prices. The web issue replaces it with the web demo.
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path

from engine.cli.commands import open_service
from engine.cli.demo_history import add_purchase_history
from engine.cli.output import CommandFailed, format_table
from engine.service import (
    SYSTEM_ACTOR,
    Actor,
    NotFoundError,
    PermissionDeniedError,
    RecordValidationError,
    Service,
    ServiceError,
    load_app,
    read_org_file,
    sqlite_file,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: the password every demo login gets (printed with the logins; never use it elsewhere)
DEMO_PASSWORD = "demo-pass-2026"
#: logins printed for trying the permissions out
DEMO_LOGINS = (
    ("admin", "系统管理员 / administrator"),
    ("zhao.min", "财务 / finance: every order"),
    ("sun.li", "华东大区总监 / area director: orders of dealers in 华东"),
    ("ma.lan", "销售运营 / purchasing: fills in purchase requests (新建 / new)"),
    ("he.jing", "渠道管理部经理 / manager: approves ma.lan's purchase requests (待办 / tasks)"),
    ("qian.hao", "浙江区域经理 / region manager: 浙江 and below"),
    ("wu.gang", "渠道经理 / channel manager: the dealers he looks after"),
    ("hz.boss", "杭州恒泰 (tier-1 dealer): its orders and its sub-dealer's"),
    ("yh.boss", "余杭恒泰 (sub-dealer): its own orders only"),
    ("hz.sales", "杭州恒泰 salesperson: orders they entered"),
    ("gz.boss", "广州粤华 (tier-1 dealer, 华南)"),
)

#: the dealer users the portal is shown with (docs/portal.md)
PORTAL_LOGINS = ("hz.boss", "yh.boss", "gz.boss")
#: statements (对账单) finance sends for the dealers to confirm on the portal
STATEMENTS = (
    ("DL-HZ-001", "2026-10", [("季度返利", "3600.00"), ("运费补贴", "120.50")]),
    ("DL-HZ-001", "2026-11", [("季度返利", "4280.00")]),
    ("DL-GD-001", "2026-11", [("季度返利", "5150.00")]),
)

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
    _print_step("The example organisation (examples/org.yaml)")
    summary = service.org.load(SYSTEM_ACTOR, read_org_file(EXAMPLES / "org.yaml"))
    print("\n".join(f"  {line}" for line in summary.lines()))
    for login, _what in DEMO_LOGINS:
        service.org.set_password(SYSTEM_ACTOR, login, DEMO_PASSWORD)
    _prepare_calendar(service)
    admin = Actor("admin")
    buyer = Actor("ma.lan")

    _print_step(f"Installing the examples into {args.demo_database}")
    # the purchase app's role "purchasing" is held by the organisation's sales_ops
    # and its "finance" approvers are the two members of the organisation's payables role
    roles = {"purchase_request": {"purchasing": "sales_ops", "finance": "payables"}}
    for folder in ("leave_request", "purchase_request", "dealer_orders"):
        report = service.install_app(admin, load_app(EXAMPLES / folder), role_map=roles.get(folder))
        print(report.summary())

    _print_step("Suppliers and products")
    suppliers = [service.create_record(admin, "purchase", "supplier", s) for s in SUPPLIERS]
    products = [service.create_record(admin, "purchase", "product", p) for p in PRODUCTS]
    for record in suppliers + products:
        print(f"  #{record.id} {record.title}")

    _print_step("A year of purchase requests for the dashboard (examples/purchase_request)")
    active = [s.id for s in suppliers if s.values.get("state") != "paused"]
    history = add_purchase_history(
        args.demo_database, args.files_dir, service.today(), active, [p.id for p in products]
    )
    print("  " + ", ".join(f"{count} {outcome}" for outcome, count in history.items()))

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

    if not _show_approvals(service, today):
        return 1

    _print_step("Requests of ¥1,000 or more, largest first")
    _print_listing(service, admin)
    if not _show_permissions(service, admin):
        return 1
    if not _show_portal_statements(service):
        return 1
    db = args.demo_database
    print(
        "\nTry it yourself:\n"
        f"  lowcode --database {db} records list purchase purchase_request"
        " --where 'total>=100' --sort -total\n"
        f"  lowcode --database {db} --user hz.boss records list orders order\n"
        f"  lowcode --database {db} permissions explain orders order --as yh.boss --record 1\n"
        f"  lowcode --database {db} tasks list --as he.jing\n"
        f"  lowcode --database {db} flow show leave leave_request 1\n"
        f"  lowcode --database {db} flow simulate leave leave_request --as wu.gang"
        ' --json \'{"leave_type": "annual", "start_date": "2026-12-14",'
        ' "end_date": "2026-12-18", "reason": "trip"}\'\n'
        "  lowcode check examples/purchase_request\n"
        f"\nDemo logins (password {DEMO_PASSWORD}; for the web front, and --user on the CLI):"
    )
    for login, what in DEMO_LOGINS:
        print(f"  {login:<10} {what}")
    host = getattr(args, "host", "127.0.0.1") or "127.0.0.1"
    port = getattr(args, "port", 5000) or 5000
    print(
        f"\nDealer portal (phone-first): http://{host}:{port}/portal/\n"
        f"  sign in as {', '.join(PORTAL_LOGINS)} (password {DEMO_PASSWORD});"
        " hz.boss has statements (对账单) to confirm"
    )
    return 0


def _show_permissions(service: Service, admin: Actor) -> bool:
    """Orders of four dealers, then what each person sees; False if anything leaked."""
    _print_step("Permissions: dealer orders (examples/dealer_orders), each sees their own rows")
    products = [
        service.create_record(admin, "orders", "product", p)
        for p in (
            {"sku": "TEA-250", "name": "龙井 250g", "price": "128.00", "base_price": "71.50"},
            {"sku": "TEA-500", "name": "龙井 500g", "price": "238.00", "base_price": "133.00"},
        )
    ]
    placed = {}
    for login, qty in (
        ("hz.boss", 10),
        ("yh.boss", 4),
        ("hz.sales", 6),
        ("gz.boss", 20),
        ("fs.boss", 3),
    ):
        data = {"lines": [{"product": products[qty % 2].id, "qty": qty}]}
        record = service.create_record(Actor(login), "orders", "order", data)
        placed[login] = record
        print(f"  {login:<9} placed {record.title}  ({record.names.get('dealer')})")
    expected = {
        "hz.boss": {"hz.boss", "yh.boss", "hz.sales"},
        "yh.boss": {"yh.boss"},
        "hz.sales": {"hz.sales"},
        "gz.boss": {"gz.boss", "fs.boss"},
        "qian.hao": {"hz.boss", "yh.boss", "hz.sales"},
        "wu.gang": {"hz.boss", "yh.boss", "hz.sales"},
        "lin.feng": {"gz.boss", "fs.boss"},
        "zhao.min": set(placed),
    }
    ok = True
    for login, wanted in expected.items():
        page = service.query_records(Actor(login), "orders", "order", page_size=100)
        seen = sorted(r.values["order_no"] for r in page.items)
        want = sorted(placed[w].values["order_no"] for w in wanted)
        mark = "ok" if seen == want else "LEAK"
        ok = ok and seen == want
        print(f"  {login:<9} sees {len(seen)}: {', '.join(seen)}  [{mark}]")
    cost = service.get_record(Actor("hz.boss"), "orders", "product", products[0].id)
    print(f"  hz.boss reads a product without its cost price: {sorted(cost.values)}")
    try:
        service.get_record(Actor("yh.boss"), "orders", "order", placed["hz.boss"].id)
        ok = False
    except NotFoundError as exc:
        print(f"  yh.boss asks for its parent dealer's order: {exc}")
    try:
        service.create_record(
            Actor("hz.boss"),
            "orders",
            "order",
            {"dealer": "DL-GD-001", "lines": [{"product": products[0].id, "qty": 1}]},
        )
        ok = False
    except (PermissionDeniedError, RecordValidationError) as exc:
        print(f"  hz.boss orders in another dealer's name: {exc}")
    return ok


def _show_portal_statements(service: Service) -> bool:
    """Finance sends statements; each goes to its dealer's portal users to confirm
    (examples/dealer_orders/flows/statement_confirm.yaml). False on a surprise."""
    _print_step("Dealer portal: statements (对账单) for the dealers to confirm")
    finance = Actor("zhao.min")
    for dealer, period, lines in STATEMENTS:
        data = {
            "dealer": dealer,
            "period": period,
            "lines": [{"item": item, "amount": amount} for item, amount in lines],
        }
        record = service.flows.submit(finance, "orders", "statement", data)
        print(f"  zhao.min sent {record.title} to {record.names.get('dealer') or dealer}")
    waiting = service.flows.tasks(Actor("hz.boss"), status="pending").total
    print(f"  hz.boss has {waiting} statements to confirm on the portal")
    return waiting == 2


def _prepare_calendar(service: Service) -> None:
    """The working calendar flow timeouts count on: chinese-calendar's years, and next
    year as Monday to Friday when the library has no data for it yet."""
    service.calendar.ensure_seeded(SYSTEM_ACTOR)
    next_year = service.today().year + 1
    if next_year not in service.calendar.years(SYSTEM_ACTOR):
        source = service.calendar.add_year(SYSTEM_ACTOR, next_year)
        if source == "weekdays":
            print(
                f"  working calendar: {next_year} added as Monday-Friday (chinese-calendar has"
                " no data for it yet); mark its holidays with `lowcode calendar set`"
            )


def _show_approvals(service: Service, today: date) -> bool:
    """A leave request simulated, submitted and approved step by step; False on a surprise."""
    _print_step("Approvals: a 5-day leave request (examples/leave_request/flows)")
    applicant = Actor("wu.gang")
    leave = {
        "leave_type": "annual",
        "start_date": (today + timedelta(days=3)).isoformat(),
        "end_date": (today + timedelta(days=7)).isoformat(),
        "reason": "回老家 / family visit",
    }
    simulation = service.flows.simulate(applicant, "leave", "leave_request", leave)
    print("  simulated route (nothing written):")
    for step in simulation.path:
        people = ", ".join(f"{p['login']} ({p['reason'].get('source')})" for p in step.people)
        chosen = step.detail.get("chosen")
        print(f"    {step.name}: {people or f'branches {chosen}'}")
    record = service.flows.submit(applicant, "leave", "leave_request", leave)
    print(f"  wu.gang submitted #{record.id} {record.title}: {record.status}")
    for _ in range(5):
        instance = service.flows.instance_of(applicant, "leave", "leave_request", record.id)
        pending = [t for t in instance.tasks if t.status == "pending"]
        if not pending:
            break
        for task in pending:
            service.flows.approve(Actor(task.assignee), task.id, comment="同意")
            print(f"    {task.assignee} approved at {task.node_name}")
    instance = service.flows.instance_of(applicant, "leave", "leave_request", record.id)
    copied = [t.assignee for t in instance.tasks if t.status == "cc"]
    print(f"  outcome: {instance.status}; copied to {', '.join(copied)}")
    for route in instance.routes:
        for seen in route["evaluated"]:
            if not seen.get("otherwise"):
                print(f"  why: {seen['when']} with {seen['values']} -> {seen['result']}")
    return instance.status == "approved"


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
