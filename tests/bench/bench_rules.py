"""Benchmarks of rules and the outbox (issue 14): each engine side against its baseline.

``update_rule``: a record update that triggers one in-transaction cross-form update rule
against the same two updates hand-written with SQLAlchemy Core. The app (``RULES_APP``)
has products (name, stock) and orders (product relation, qty, note); the rule
``take_stock`` fires when an order's ``qty`` changes and runs ``update: {form: product,
where: "id == record.product", set: {stock: "stock - record.qty"}}``. Engine side:
``service.update_record`` changing an order's qty, one transaction each (the order's
update with its revision, audit entry and outbox event, then the rule's update of the
product through the same write path, with its own revision, audit entry and event).
Baseline: two UPDATEs by primary key in one transaction (the order's qty, the product's
stock, each bumping ``version``, ``updated_at`` and ``updated_by``) on the same form
tables, nothing read and nothing journalled; the product id comes from a dict built
before timing. The sides work on disjoint halves of the orders and their products and
the final stock of every product is checked against the expected one through the
service. For information a third side updates the order's note, which does not trigger
the rule. Target: engine <= 2x the baseline's time per update.

``outbox``: outbox delivery to a local HTTP receiver (a ThreadingHTTPServer in a process
of its own, answering 200 with an empty body). A rule ``announce`` of the form ``ticket``
posts a signed webhook on ``created``. All the records are created before any timing
(each queues a ``record.created`` and a ``rule.webhook`` event); then in each round the
engine side runs the Dispatcher with ``register_rule_deliverers`` (``dispatch_once``:
claim a batch of 100 events, deliver, acknowledge) over the next whole batches, and the
baseline, a plain loop, posts the same requests the receiver got from the engine (body
and X-Lowcode headers, byte for byte) with the delivery code's own HTTP client
(``engine.service.delivery.post_json``, urllib). The claim, the acknowledgement, the
delivery and the ``post_json`` inside it are timed in place, so the output says where
the engine's time per event goes. Target: engine >= 0.7x the baseline's events/s.

The sides take turns in ``--rounds`` rounds and the medians of the rounds are compared.
Printed, never asserted. Each benchmark gets a fresh database: a temporary SQLite file
and, with ``--postgres``, a throwaway database on that server.

    python tests/bench/bench_rules.py [--only update_rule|outbox ...] [--updates 500]
        [--events 2000] [--rounds 20] [--seed 1000] [--profile]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

``--profile`` runs the engine sides under cProfile (times are inflated; the shares are
what matter) and prints the costliest functions. A new benchmark is a function
``(url, args) -> list of lines`` added to ``BENCHMARKS``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import multiprocessing
import pstats
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine, postgres_database  # noqa: E402

from engine.definitions import load_app_text  # noqa: E402
from engine.service import SYSTEM_ACTOR, Actor, Service  # noqa: E402
from engine.service.delivery import channels, post_json  # noqa: E402
from engine.service.dispatcher import Dispatcher  # noqa: E402
from engine.service.rule_delivery import register_rule_deliverers  # noqa: E402

ACTOR = Actor("bench.user")

RULES_APP = """
app: benchrules
version: 1.0.0
name: Bench rules
---
form: product
name: Product
title: "{{ name }}"
fields:
  name:  {type: text, required: true}
  stock: {type: number, precision: 0}
---
form: order
name: Order
fields:
  product: {type: relation, to: product, display: name, required: true}
  qty:     {type: number, precision: 0}
  note:    text
---
rule: take_stock
form: order
trigger: {updated: {fields: [qty]}}
actions:
  - update:
      form: product
      where: "id == record.product"
      set: {stock: "stock - record.qty"}
"""

HOOKS_APP = """
app: benchhooks
version: 1.0.0
name: Bench hooks
---
form: ticket
name: Ticket
title: "{{ subject }}"
fields:
  subject: {type: text, required: true}
  amount:  money
---
rule: announce
form: ticket
trigger: created
actions:
  - webhook: {url: "URL/hook", secret: "s3cret"}
"""

#: a product's stock before the benchmark
START_STOCK = 1_000_000


class Profiler:
    """cProfile switched on around the engine sides only (``--profile``), else nothing."""

    def __init__(self, enabled: bool):
        self.profile = cProfile.Profile() if enabled else None

    @contextlib.contextmanager
    def measuring(self) -> Iterator[None]:
        """Profile the block (when enabled)."""
        if self.profile is None:
            yield
            return
        self.profile.enable()
        try:
            yield
        finally:
            self.profile.disable()

    def report(self, title: str, top: int = 30) -> list[str]:
        """The costliest functions by own time and by cumulative time."""
        if self.profile is None:
            return []
        lines = [f"--- profile of the engine side: {title} (times inflated by the profiler)"]
        for order in ("tottime", "cumulative"):
            text = io.StringIO()
            pstats.Stats(self.profile, stream=text).strip_dirs().sort_stats(order).print_stats(top)
            lines.append(f"sorted by {order}:")
            lines += [line for line in text.getvalue().splitlines() if line.strip()][-top - 1 :]
        return lines


class Stopwatch:
    """Total seconds and calls of wrapped functions, by name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """``function``, adding its time and calls to ``name``."""
        self.seconds[name], self.calls[name] = 0.0, 0

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start
                self.calls[name] += 1

        return timed

    def clear(self) -> None:
        """Forget the times so far (after a warm-up)."""
        self.seconds = dict.fromkeys(self.seconds, 0.0)
        self.calls = dict.fromkeys(self.calls, 0)


def _ratio_line(
    label: str, engine: list[float], baseline: list[float], unit: str, target: str
) -> list[str]:
    """The medians of per-round seconds per item, the ratio and the spread of the rounds."""
    engine_s, base_s = statistics.median(engine), statistics.median(baseline)
    rounds = sorted(e / b for e, b in zip(engine, baseline, strict=True))
    return [
        f"{label}: engine {engine_s * 1e3:.3f} ms/{unit} ({1 / engine_s:,.1f} {unit}/s), "
        f"baseline {base_s * 1e3:.3f} ms/{unit} ({1 / base_s:,.1f} {unit}/s)",
        f"{label}: {target} (rounds {rounds[0]:.2f}x-{rounds[-1]:.2f}x)",
    ]


# -- 1. an update triggering a cross-form update rule ----------------------------------


def bench_update_rule(url: str, args: argparse.Namespace) -> list[str]:
    """update_record of an order's qty (the rule updates its product) vs two Core UPDATEs."""
    service = Service(url)
    service.init_database()
    service.install_app(SYSTEM_ACTOR, load_app_text(RULES_APP))
    app = "benchrules"
    started = time.perf_counter()
    products = [
        service.create_record(
            SYSTEM_ACTOR, app, "product", {"name": f"P{i}", "stock": START_STOCK}
        ).id
        for i in range(args.seed)
    ]
    orders = [
        service.create_record(
            SYSTEM_ACTOR, app, "order", {"product": products[i], "qty": 1, "note": "n0"}
        ).id
        for i in range(args.seed)
    ]
    seeded = time.perf_counter() - started
    product_of = dict(zip(orders, products, strict=True))
    qty_of = dict.fromkeys(orders, 1)
    expected_stock = dict.fromkeys(products, START_STOCK)
    half = len(orders) // 2
    engine_orders, base_orders = orders[:half], orders[half:]

    def next_qty(order: int) -> int:
        qty = qty_of[order] % 9 + 1  # 1..9, always different from the stored one
        qty_of[order] = qty
        expected_stock[product_of[order]] -= qty
        return qty

    # the bench reaches behind the facade on purpose: the baseline writes the same tables
    with service._context.transactions.read(app) as tx:
        order_tables, product_tables = tx.form("order").tables, tx.form("product").tables
    order_table, product_table = order_tables.table, product_tables.table
    [qty_column] = order_tables.fields["qty"].names
    [stock_column] = product_tables.fields["stock"].names
    qty_field = order_tables.fields["qty"]

    def stored_qty(qty: int) -> Any:
        value = qty_field.type.coerce(qty_field.field, qty)
        return qty_field.type.to_storage(qty_field.field, value)[qty_column]

    set_qty = (
        sa.update(order_table)
        .where(order_table.c.id == sa.bindparam("order_id"))
        .values(
            {
                qty_column: sa.bindparam("qty", type_=order_table.c[qty_column].type),
                "version": order_table.c.version + 1,
                "updated_at": sa.bindparam("now", type_=order_table.c.updated_at.type),
                "updated_by": sa.bindparam("who", type_=order_table.c.updated_by.type),
            }
        )
    )
    take_stock = (
        sa.update(product_table)
        .where(product_table.c.id == sa.bindparam("product_id"))
        .values(
            {
                stock_column: product_table.c[stock_column]
                - sa.bindparam("qty", type_=product_table.c[stock_column].type),
                "version": product_table.c.version + 1,
                "updated_at": sa.bindparam("now", type_=product_table.c.updated_at.type),
                "updated_by": sa.bindparam("who", type_=product_table.c.updated_by.type),
            }
        )
    )
    engine = service._database.engine
    profiler = Profiler(args.profile)

    def engine_side(first: int, size: int) -> float:
        chosen = [engine_orders[n % len(engine_orders)] for n in range(first, first + size)]
        changes = [(order, {"qty": next_qty(order)}) for order in chosen]
        with profiler.measuring():
            start = time.perf_counter()
            for order, change in changes:
                service.update_record(ACTOR, app, "order", order, change)
            return (time.perf_counter() - start) / size

    def baseline_side(first: int, size: int) -> float:
        chosen = [base_orders[n % len(base_orders)] for n in range(first, first + size)]
        # the stored form of the value (an integer column for a whole number), made by
        # the field type before timing, as the store's write path makes it
        work = [(order, product_of[order], stored_qty(next_qty(order))) for order in chosen]
        who = ACTOR.user_id
        start = time.perf_counter()
        for order, product, qty in work:
            now = service._context.clock()
            with engine.begin() as conn:
                conn.execute(set_qty, {"order_id": order, "qty": qty, "now": now, "who": who})
                conn.execute(
                    take_stock, {"product_id": product, "qty": qty, "now": now, "who": who}
                )
        return (time.perf_counter() - start) / size

    def note_side(first: int, size: int) -> float:
        chosen = [engine_orders[n % len(engine_orders)] for n in range(first, first + size)]
        start = time.perf_counter()
        for n, order in enumerate(chosen, first):
            service.update_record(ACTOR, app, "order", order, {"note": f"n{n + 1}"})
        return (time.perf_counter() - start) / size

    for side in (engine_side, baseline_side, note_side):  # warm caches and statements
        side(0, 5)
    size = max(1, args.updates // args.rounds)
    times: dict[str, list[float]] = {"engine": [], "baseline": [], "note": []}
    for r in range(args.rounds):
        first = 5 + r * size
        times["engine"].append(engine_side(first, size))
        times["baseline"].append(baseline_side(first, size))
        times["note"].append(note_side(first, size))

    # both sides did what they claim: every product's stock as the service reads it
    wrong = {
        product: (record.values["stock"], stock)
        for product, stock in expected_stock.items()
        if (record := service.get_record(ACTOR, app, "product", product)).values["stock"] != stock
    }
    assert not wrong, f"stock differs from the expected for {len(wrong)} products: {wrong}"
    touched = sum(1 for stock in expected_stock.values() if stock != START_STOCK)
    version = service._database.server_version()
    service._database.dispose()

    engine_s, base_s = statistics.median(times["engine"]), statistics.median(times["baseline"])
    ratio = engine_s / base_s
    met = "met" if ratio <= 2 else "NOT met"
    lines = [
        f"update_rule: {args.seed:,} products and {args.seed:,} orders seeded in {seeded:.1f} s; "
        f"{size * args.rounds:,} updates per side in {args.rounds} alternating rounds, one "
        f"transaction each; stock of all {len(expected_stock):,} products checked "
        f"({touched:,} changed); server {version}",
        "update_rule: baseline = two Core UPDATEs by primary key (order qty, product stock; "
        "version/updated_at/updated_by bumped), no read, no revision/audit/outbox",
        *_ratio_line(
            "update_rule",
            times["engine"],
            times["baseline"],
            "update",
            f"engine/baseline {ratio:.2f}x (target <= 2.00x: {met})",
        ),
        f"update_rule: for information, the same update_record changing the note (no rule "
        f"fires): {statistics.median(times['note']) * 1e3:.3f} ms/update, "
        f"{statistics.median(times['note']) / base_s:.2f}x the baseline",
    ]
    return lines + profiler.report("update_rule")


# -- 2. outbox delivery to a local HTTP receiver ---------------------------------------


class CapturingHandler(BaseHTTPRequestHandler):
    """POST: answer 200 with an empty body, keeping the body and X-Lowcode-* headers.
    GET /captured: the kept requests as JSON (bodies as Latin-1 text), then forgets them."""

    captured: list[tuple[str, dict[str, str]]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k: v for k, v in self.headers.items() if k.lower().startswith("x-lowcode")}
        with self.lock:
            self.captured.append((body.decode("latin-1"), headers))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        with self.lock:
            data = json.dumps(self.captured).encode()
            self.captured.clear()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def _serve(port: Any) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), CapturingHandler)
    server.daemon_threads = True
    port.put(server.server_address[1])
    server.serve_forever()


@dataclass(frozen=True)
class Receiver:
    """The receiver process's URL; :meth:`take` fetches the requests it got since the last."""

    url: str

    def take(self) -> list[tuple[bytes, dict[str, str]]]:
        """The requests (body, X-Lowcode headers) received since the last call."""
        with urllib.request.urlopen(f"{self.url}/captured", timeout=30) as answer:
            return [(body.encode("latin-1"), headers) for body, headers in json.load(answer)]


@contextlib.contextmanager
def http_receiver() -> Iterator[Receiver]:
    """A ThreadingHTTPServer on 127.0.0.1 in a process of its own (forked before any
    database connection), so it shares no interpreter lock with the measured code."""
    context = multiprocessing.get_context("fork")
    port = context.Queue()
    process = context.Process(target=_serve, args=(port,), daemon=True)
    process.start()
    try:
        yield Receiver(f"http://127.0.0.1:{port.get(timeout=30)}")
    finally:
        process.terminate()
        process.join()


def bench_outbox(url: str, args: argparse.Namespace) -> list[str]:
    """Dispatcher delivering rule.webhook events vs a plain post_json loop (events/s)."""
    with http_receiver() as receiver:
        service = Service(url)
        service.init_database()
        service.install_app(SYSTEM_ACTOR, load_app_text(HOOKS_APP.replace("URL", receiver.url)))
        dispatcher = Dispatcher(service, consumer="bench")
        register_rule_deliverers(dispatcher, service)
        hook = f"{receiver.url}/hook"
        # where the engine side's time goes, without a profiler's inflation: the
        # dispatcher's three steps timed in place (the bench reaches behind on purpose)
        watch = Stopwatch()
        service.events.claim = watch.wrap("claim", service.events.claim)  # type: ignore[method-assign]
        service.events.acknowledge = watch.wrap("acknowledge", service.events.acknowledge)  # type: ignore[method-assign]
        webhook = dispatcher._deliverers["rule.webhook"]
        dispatcher.register("rule.webhook", watch.wrap("deliver", webhook))
        # the HTTP call inside the delivery (the same function the baseline calls)
        channels.post_json = watch.wrap("post_json", post_json)
        profiler = Profiler(args.profile)
        # a round is whole batches (two events a record), so each claim is a full one
        warm_up = dispatcher.batch // 2  # records: one batch of events
        size = max(1, -(-args.events // args.rounds // warm_up)) * warm_up

        # every round's events are queued before any timing (each record queues a
        # record.created and a rule.webhook event), so no burst of writes (and the
        # server's work after it) falls just before one side
        started = time.perf_counter()
        for n in range(warm_up + size * args.rounds):
            service.create_record(
                ACTOR, "benchhooks", "ticket", {"subject": f"工单 {n}", "amount": "1200.50"}
            )
        queued = time.perf_counter() - started

        def engine_side(records: int) -> float:
            """Claim, deliver and acknowledge the events of the next ``records`` records."""
            # batches of 100 claimed events until this round's count is delivered (the
            # last batch may take some of the next round's events: per event counts)
            delivered = 0
            with profiler.measuring():
                start = time.perf_counter()
                while delivered < records:
                    run = dispatcher.dispatch_once()
                    delivered += len(run.delivered)
                    if run.errors:
                        raise RuntimeError(f"delivery failed: {run.errors}")
                    if not run.claimed:
                        break
                elapsed = time.perf_counter() - start
            if delivered == 0:
                raise RuntimeError("no event left to deliver")
            return elapsed / delivered

        def baseline_side(sent: list[tuple[bytes, dict[str, str]]]) -> float:
            start = time.perf_counter()
            for body, headers in sent:
                answer = post_json(hook, body, headers=headers, timeout=10.0)
                if not 200 <= answer.status < 300:
                    raise RuntimeError(f"the receiver answered {answer.status}")
            elapsed = time.perf_counter() - start
            assert len(receiver.take()) == len(sent)
            return elapsed / len(sent)

        engine_side(warm_up)  # warm caches and statements
        baseline_side(receiver.take())
        profiler = Profiler(args.profile)
        watch.clear()
        engine_times, base_times = [], []
        for _ in range(args.rounds):
            engine_times.append(engine_side(size))
            sent = receiver.take()
            assert sent, "the engine side delivered nothing"
            base_times.append(baseline_side(sent))
        version = service._database.server_version()
        service._database.dispose()
        channels.post_json = post_json

    engine_s, base_s = statistics.median(engine_times), statistics.median(base_times)
    ratio = base_s / engine_s
    met = "met" if ratio >= 0.7 else "NOT met"
    rounds = sorted(b / e for e, b in zip(engine_times, base_times, strict=True))
    lines = [
        f"outbox: {size * args.rounds:,} rule.webhook events per side in {args.rounds} "
        f"alternating rounds, queued beforehand ({warm_up + size * args.rounds:,} records "
        f"created in {queued:.1f} s, not timed); the dispatcher claims the webhook events "
        f"in batches of {dispatcher.batch}; each record also queues a record.created event, "
        f"which no deliverer wants: the claim that chooses it marks it delivered instead of "
        f"leasing it; server {version}",
        "outbox: baseline = post_json of the same bodies and X-Lowcode headers the receiver "
        "got from the engine, one after another; the receiver runs in its own process",
        f"outbox: engine {1 / engine_s:,.1f} events/s ({engine_s * 1e3:.3f} ms/event), "
        f"baseline {1 / base_s:,.1f} events/s ({base_s * 1e3:.3f} ms/event)",
        f"outbox: engine/baseline events/s {ratio:.2f}x (target >= 0.70x: {met}) "
        f"(rounds {rounds[0]:.2f}x-{rounds[-1]:.2f}x)",
    ]
    events = size * args.rounds
    steps = {name: total / events * 1e3 for name, total in watch.seconds.items()}
    total = sum(engine_times) * size / events * 1e3
    rest = total - steps["claim"] - steps["acknowledge"] - steps["deliver"]
    lines.append(
        f"outbox: the engine's time per delivered event (all rounds): claim "
        f"{steps['claim']:.3f} ms ({watch.calls['claim']} claims), acknowledge "
        f"{steps['acknowledge']:.3f} ms, deliver {steps['deliver']:.3f} ms (of which "
        f"post_json {steps['post_json']:.3f} ms; the baseline's post_json "
        f"{sum(base_times) / args.rounds * 1e3:.3f} ms), the dispatcher's own loop "
        f"{rest:.3f} ms"
    )
    return lines + profiler.report("outbox")


#: name -> (what it measures, the benchmark); run in this order
def bench_date_sweep(url: str, args: argparse.Namespace) -> list[str]:
    """The date-relative sweep over ``--rows`` records with 1,000 due vs the hand-written
    indexed query and insert of the same events (tests/bench/bench_date_sweep.py)."""
    import bench_date_sweep as dates

    service = Service(url, clock=lambda: dates.NOW)
    try:
        started = time.perf_counter()
        table = dates.prepare(service, args.rows)
        loaded = time.perf_counter() - started
        ours, hand, plan = dates.measure(service, table, max(3, min(args.rounds, 9)))
    finally:
        service.close()
    ratio = ours / hand
    verdict = "met" if ratio <= 1.5 else "NOT met"
    return [
        f"date_sweep: {args.rows:,} records ({loaded:.0f} s to load), {dates.DUE:,} due "
        f"(end_date {dates.DUE_DAY}, rule 30 days before at 09:00)",
        "date_sweep: baseline = the indexed range query on the form table + one executemany "
        "INSERT of the same 1,000 outbox rows, in one transaction",
        f"date_sweep: sweep {ours * 1000:.1f} ms, baseline {hand * 1000:.1f} ms",
        f"date_sweep: sweep/baseline {ratio:.2f}x (target <= 1.50x: {verdict})",
        f"date_sweep: plan: {plan}",
    ]


BENCHMARKS: dict[str, tuple[str, Callable[[str, argparse.Namespace], list[str]]]] = {
    "update_rule": ("an update triggering a cross-form update rule", bench_update_rule),
    "outbox": ("outbox delivery to a local HTTP receiver", bench_outbox),
    "date_sweep": ("a date-relative rule sweep over many records", bench_date_sweep),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        action="append",
        choices=list(BENCHMARKS),
        help="run only this benchmark (repeatable; default: all)",
    )
    parser.add_argument("--updates", type=int, default=500, help="updates per side (500)")
    parser.add_argument("--events", type=int, default=2000, help="webhook events per side (2000)")
    parser.add_argument("--rounds", type=int, default=20, help="alternating rounds (20)")
    parser.add_argument("--seed", type=int, default=1000, help="products and orders (1000)")
    parser.add_argument("--profile", action="store_true", help="cProfile the engine sides")
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="records of the date sweep (1,000,000)"
    )
    parser.add_argument("--postgres", help="server URL; a throwaway database is created on it")
    args = parser.parse_args()
    if args.seed < 2 or args.rounds < 1 or args.updates < 1 or args.events < 1:
        parser.error("--seed must be at least 2; --rounds, --updates and --events at least 1")

    print(machine({}), flush=True)
    for name in args.only or list(BENCHMARKS):
        title, benchmark = BENCHMARKS[name]
        with tempfile.TemporaryDirectory() as folder:
            print(f"== {name} ({title}), SQLite (file, WAL)", flush=True)
            print("\n".join(benchmark(f"sqlite:///{folder}/{name}.db", args)), flush=True)
        if args.postgres:
            with postgres_database(args.postgres) as url:
                print(f"== {name} ({title}), PostgreSQL", flush=True)
                print("\n".join(benchmark(url, args)), flush=True)


if __name__ == "__main__":
    main()
