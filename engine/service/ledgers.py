"""Ledgers: the rule actions that append entries, the reads, and the expiry sweep.

The app's ledgers (``ledgers/*.yaml``) are published with its forms at install
(:func:`publish`); every process builds them once per app generation, like the rules.

- Rule actions ``post``, ``hold``, ``release``, ``consume`` and ``reverse`` run through
  :func:`run_ledger_action` inside the triggering transaction (engine/service/rules.py
  hands each one over). Each is recorded under an idempotency key (default: action,
  form, record, rule and action index; ``key:`` overrides), so a retried submit or
  approval writes nothing the second time.
- Expressions read ``BALANCE(ledger, key...)`` and ``AVAILABLE(ledger, key...)`` through
  :func:`ledger_reader` (one unique-index read of the account row each).
- :class:`LedgerUseCases` reads balances, entries, lots and holds for the CLI and the
  API, and :meth:`LedgerUseCases.expire` is the scheduler's expiry sweep; the same sweep
  queues each ledger's reminders before lots expire (``lots.remind``) as ``rule.notify``
  outbox events, delivered by the rules' deliverer (engine/service/rule_delivery.py).

No SQL here: the store's engine/store/ledger.py writes and reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from engine.definitions.ledgers import LedgerDefinition, ledger_from_source
from engine.errors import (
    ExpressionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
)
from engine.service import arguments as check
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.rule_values import event_data, say
from engine.service.transactions import Transaction
from engine.store import ledger as store
from engine.store.journal import Journal, Subject
from engine.store.ledger import LedgerRef, LedgerRefusal, LedgerWriter, Source

#: accounts the expiry sweep handles per transaction
SWEEP_BATCH = 200


@dataclass(frozen=True)
class Ledger:
    """A published ledger: its row id and definition."""

    id: int
    definition: LedgerDefinition

    def ref(self) -> LedgerRef:
        """What the store's writer needs."""
        d = self.definition
        lots = d.lots is not None
        return LedgerRef(self.id, d.key, d.floor, lots, d.lots.order if d.lots else "fifo")

    def today(self, now: datetime) -> date:
        """The date of ``now`` in the ledger's zone."""
        return now.astimezone(ZoneInfo(self.definition.timezone)).date()

    def expiry_instant(self, last_day: date) -> datetime:
        """00:00 of the day after ``last_day`` in the ledger's zone: the lot is usable
        through ``last_day`` and expired from this instant (CHANNEL_DOMAIN D19)."""
        zone = ZoneInfo(self.definition.timezone)
        return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone)


@dataclass
class AccountView:
    """An account as read: key values, balance, held and available amounts."""

    ledger: str
    key: tuple[str, ...]
    balance: Decimal
    held: Decimal
    available: Decimal
    entries: list[dict[str, Any]] = field(default_factory=list)
    lots: list[dict[str, Any]] = field(default_factory=list)
    holds: list[dict[str, Any]] = field(default_factory=list)


def publish(conn: Any, app: Any, *, by: str, now: datetime) -> bool:
    """Store the app's ledgers in the install's transaction; True when any changed."""
    return store.publish_ledgers(
        conn,
        app.key,
        [(d.key, d.source) for d in getattr(app, "ledgers", ()) if d.source is not None],
        by=by,
        now=now,
    )


def ledgers_of(tx: Transaction) -> dict[str, Ledger]:
    """The app's published ledgers by key (built once per app generation and process)."""

    def load(conn: Any) -> dict[str, Ledger]:
        return {
            key: Ledger(ledger_id, ledger_from_source(source))
            for ledger_id, key, source in store.ledger_rows(conn, tx.app)
        }

    return tx.catalog.extra(tx.conn, tx.app, "ledgers", load)


def _ledger(tx: Transaction, key: str, locale: str) -> Ledger:
    found = ledgers_of(tx).get(key)
    if found is None:
        known = ", ".join(ledgers_of(tx)) or "-"
        raise NotFoundError(
            say(
                locale,
                f"应用 {tx.app} 没有账本 {key}（已有：{known}）",
                f"app {tx.app} has no ledger {key} (ledgers: {known})",
            )
        )
    return found


def ledger_reader(tx: Transaction) -> Callable[[str, str, Sequence[Any]], Decimal]:
    """The callback BALANCE / AVAILABLE read through: (what, ledger, key values) -> amount.

    An account with no entries yet reads 0; an unknown ledger is an ExpressionError that
    names the ledgers the app has.
    """

    def read(what: str, key: str, values: Sequence[Any]) -> Decimal:
        ledger = ledgers_of(tx).get(key)
        if ledger is None:
            known = ", ".join(ledgers_of(tx)) or "-"
            raise ExpressionError(
                f"{what.upper()}: the app has no ledger {key!r}",
                hint=f"ledgers: {known}",
            )
        if len(values) != len(ledger.definition.account):
            names = ", ".join(ledger.definition.account)
            raise ExpressionError(
                f"{what.upper()}({key!r}, ...) needs {len(ledger.definition.account)} "
                f"account value(s) after the ledger: {names}"
            )
        row = store.account_row(tx.conn, ledger.id, store.account_key(_texts(values)))
        if row is None:
            return Decimal(0)
        if what == "available":
            return row.balance - row.held - ledger.definition.floor
        return row.balance

    return read


def _key_value_fine(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return False
    if isinstance(value, str):
        return len(value) <= 200 and "\x00" not in value
    return abs(value) < 2**63


def _key_argument(key: Any, locale: str) -> list[str | None]:
    """An account key given to a service call: a list or tuple of texts or whole numbers
    (at most 10, each at most 200 characters, no NUL)."""
    fine = isinstance(key, (list, tuple)) and 0 < len(key) <= 10
    if fine:
        fine = all(_key_value_fine(value) for value in key)
    if not fine:
        raise InvalidArgumentError(
            say(
                locale,
                f"key 应为账户键值的列表（1 到 10 个文本或整数），收到 {repr(key)[:50]}",
                f"key must be a list of the account's key values (1 to 10 texts or whole "
                f"numbers); got {repr(key)[:50]}",
            ),
            argument="key",
            given=repr(key)[:50],
            expected="a list of 1 to 10 texts or ints",
            code="type",
        )
    try:
        text = [str(v) for v in key]
        for value in text:
            value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgumentError(
            say(locale, "key 含无法编码的字符", "key holds characters that cannot be encoded"),
            argument="key",
            code="surrogate",
        ) from None
    return _texts(list(key))


def _texts(values: Sequence[Any]) -> list[str | None]:
    """Account key values as stored: text (a relation id as its digits)."""
    out: list[str | None] = []
    for value in values:
        if value is None:
            out.append(None)
        elif isinstance(value, bool):
            out.append("true" if value else "false")
        elif isinstance(value, Decimal) and value == value.to_integral_value():
            out.append(str(value.quantize(Decimal(1))))
        else:
            out.append(str(value))
    return out


# -- rule actions ---------------------------------------------------------------------------
def _money(value: Decimal, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def refusal_text(
    refusal: LedgerRefusal, ledger: LedgerDefinition, account: Sequence[Any], locale: str
) -> str:
    """A ledger refusal in the user's language, with the account and the figures."""
    d = ledger.decimals
    f = {k: _money(v, d) if isinstance(v, Decimal) else v for k, v in refusal.figures.items()}
    who = ", ".join(f"{k}={v}" for k, v in zip(ledger.account, account, strict=False))
    name = (
        f"{ledger.label(locale)}（{who}）"
        if not locale.startswith("en")
        else (f"{ledger.label(locale)} ({who})")
    )
    if refusal.code == "floor":
        return say(
            locale,
            f"{name}可用余额 {f['available']}，不足 {f['wanted']}（余额不能低于 {f['floor']}）",
            f"{name}: available {f['available']}, not enough for {f['wanted']} "
            f"(the balance may not go below {f['floor']})",
        )
    if refusal.code == "too_much":
        return say(
            locale,
            f"{name}最多可冲回/扣用 {f['most']}，请求 {f['wanted']}",
            f"{name}: at most {f['most']} can be taken here, asked for {f['wanted']}",
        )
    if refusal.code == "no_hold":
        return say(
            locale,
            f"{name}没有未结的冻结 {f['name']}（先 hold，或去掉 from_hold）",
            f"{name}: no open hold {f['name']} (hold first, or drop from_hold)",
        )
    if refusal.code == "held":
        return say(
            locale,
            f"{name}已有未结的冻结 {f['name']}（剩余 {f['remaining']}），先释放或扣用",
            f"{name}: hold {f['name']} is still open ({f['remaining']} left); "
            "release or consume it first",
        )
    return say(locale, f"{name}拒绝：{refusal.code}", f"{name} refused: {refusal.code}")


def run_ledger_action(
    firing: Any,
    index: int,
    kind: str,
    data: Mapping[str, Any],
    evaluate: Callable[[str, str], Any],
    error: Callable[[str, str, str], Exception],
) -> dict[str, Any]:
    """Run one ledger action of a rule firing in its transaction; what it wrote.

    ``evaluate(text, what)`` evaluates an expression over the triggering record;
    ``error(code, zh, en)`` makes the rule's located RuleError.
    """
    tx, locale, rule = firing.tx, firing.locale, firing.rule
    try:
        ledger = _ledger(tx, str(data["ledger"]), locale)
    except NotFoundError as exc:
        raise error("ledger", str(exc), str(exc)) from exc
    definition = ledger.definition
    account_exprs = data.get("account") or {}
    values = [evaluate(str(account_exprs[k]), f"{kind}.account.{k}") for k in definition.account]
    for name, value in zip(definition.account, values, strict=True):
        if value is None or value == "":
            raise error(
                "ledger_account",
                f"{kind}.account.{name} 为空：无法确定账户",
                f"{kind}.account.{name} is blank: no account to write to",
            )
    where = f"{kind}.amount"

    def amount_of(text: Any, *, blank_ok: bool = False) -> Decimal | None:
        if text is None:
            return None
        value = evaluate(str(text), where)
        if value is None and blank_ok:
            return None
        return _amount(value, definition, kind, error)

    default_key = f"{kind}:{rule.form}:{firing.record_id}:{rule.key}:{index}"
    key = str(evaluate(str(data["key"]), f"{kind}.key")) if data.get("key") else default_key
    memo = evaluate(str(data["memo"]), f"{kind}.memo") if data.get("memo") else None
    source = Source(
        rule.form,
        firing.record_id or None,
        rule.key,
        f"rule:{rule.key}",
        None if memo is None else str(memo)[:500],
    )
    hold_name = (
        str(evaluate(str(data["hold"]), f"{kind}.hold"))
        if data.get("hold")
        else f"{rule.form}:{firing.record_id}"
    )
    now = firing.now
    try:
        writer = LedgerWriter(tx.conn, ledger.ref(), _texts(values), now, ledger.today(now))
        if kind == "post":
            amount = amount_of(data.get("amount"))
            assert amount is not None
            expires_on = _expiry(ledger, data, evaluate, now, error)
            outcome = writer.post(
                key,
                amount,
                source,
                expires_on=expires_on,
                expires_at=ledger.expiry_instant(expires_on) if expires_on else None,
            )
        elif kind == "hold":
            amount = amount_of(data.get("amount"))
            assert amount is not None
            outcome = writer.hold(key, hold_name, amount, source)
        elif kind == "release":
            outcome = writer.release(key, hold_name, source)
        elif kind == "consume":
            from_hold = data.get("from_hold") is True
            amount = amount_of(data.get("amount"), blank_ok=from_hold)
            if amount is None and not from_hold:
                raise error(
                    "ledger_amount",
                    f"{where} 为空：扣用金额未知",
                    f"{where} is blank: no amount to consume",
                )
            outcome = writer.consume(key, amount, source, hold=hold_name if from_hold else None)
        else:  # reverse
            original = data.get("source")
            if isinstance(original, Mapping):
                record = evaluate(str(original["id"]), "reverse.source.id")
                target = Source(str(original["form"]), _record_id(record))
            else:
                target = Source(rule.form, firing.record_id)
            amount = amount_of(data.get("amount"), blank_ok=True)
            outcome = writer.reverse(key, target, amount, source)
    except LedgerRefusal as refusal:
        text = refusal_text(refusal, definition, _texts(values), locale)
        raise error(f"ledger_{refusal.code}", text, text) from refusal
    # the shape of the rules' change log (RuleRun.changes, the machines' results)
    return {
        "action": kind,
        "form": rule.form,
        "record_id": firing.record_id,
        "values": {
            "ledger": definition.key,
            "account": _texts(values),
            "key": key,
            "written": outcome.done,
            "amount": str(outcome.amount),
            "entries": len(outcome.entries),
        },
        "rule": rule.key,
    }


def _record_id(value: Any) -> int | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    if isinstance(value, Decimal):
        value = int(value)
    return int(value) if isinstance(value, (int, str)) and str(value).isdigit() else None


def _amount(
    value: Any, ledger: LedgerDefinition, kind: str, error: Callable[[str, str, str], Exception]
) -> Decimal:
    """An action's amount: a positive number with at most the ledger's decimals (never
    rounded silently: the author writes ROUND(…, n) where rounding is meant)."""
    where = f"{kind}.amount"
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise error(
            "ledger_amount",
            f"{where} 应为数字，得到 {value!r}",
            f"{where} must be a number, got {value!r}",
        )
    amount = Decimal(value)
    if amount <= 0:
        raise error(
            "ledger_amount",
            f"{where} 应大于 0，得到 {amount}",
            f"{where} must be more than 0, got {amount}",
        )
    if amount != amount.quantize(ledger.quantum):
        raise error(
            "ledger_amount",
            f"{where} = {amount} 超过 {ledger.decimals} 位小数（用 ROUND(…, {ledger.decimals})）",
            f"{where} = {amount} has more than {ledger.decimals} decimals "
            f"(wrap it in ROUND(…, {ledger.decimals}))",
        )
    return amount.quantize(ledger.quantum)


def _expiry(
    ledger: Ledger,
    data: Mapping[str, Any],
    evaluate: Callable[[str, str], Any],
    now: datetime,
    error: Callable[[str, str, str], Exception],
) -> date | None:
    """The last usable day of a posted lot: the action's ``expires`` expression, else
    the ledger's ``lots.expires`` rule from today, else none."""
    definition = ledger.definition
    if definition.lots is None:
        return None
    text = data.get("expires")
    if text:
        value = evaluate(str(text), "post.expires")
        if isinstance(value, datetime):
            return value.astimezone(ZoneInfo(definition.timezone)).date()
        if isinstance(value, date):
            return value
        if value is None:
            return None
        raise error(
            "ledger_expires",
            f"post.expires 应为日期，得到 {value!r}",
            f"post.expires must be a date, got {value!r}",
        )
    rule = definition.lots.expires
    return rule.expires_on(ledger.today(now)) if rule is not None else None


# -- reads and the sweep --------------------------------------------------------------------
@dataclass
class ExpiryRun:
    """What one expiry sweep did."""

    accounts: int = 0
    lots: int = 0
    #: reminders queued before lots expire (``lots.remind``), one per lot ever
    reminders: int = 0


class LedgerUseCases:
    """Ledger reads (balances, entries, lots, holds) and the expiry sweep."""

    def __init__(self, context: ServiceContext):
        self._context = context

    def account(
        self,
        actor: Actor,
        app_key: str,
        ledger_key: str,
        key: Sequence[Any],
        *,
        entries: bool = False,
        lots: bool = False,
        holds: bool = False,
        limit: int = 1000,
    ) -> AccountView:
        """An account's balance, held and available amounts; with ``entries``, ``lots``
        and ``holds`` also those (the last ``limit`` entries). App administrators only."""
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        check.check_key("ledger", ledger_key, 60, locale)
        values = _key_argument(key, locale)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100_000:
            raise InvalidArgumentError(
                say(locale, "limit 应为 1 到 100000 之间的整数", "limit must be 1 to 100000"),
                argument="limit",
                given=repr(limit)[:50],
                expected="an int from 1 to 100000",
                code="range",
            )
        with self._context.transactions.read(app_key) as tx:
            self._require_admin(tx, actor, locale)
            ledger = _ledger(tx, ledger_key, locale)
            if len(values) != len(ledger.definition.account):
                names = ", ".join(ledger.definition.account)
                wanted = len(ledger.definition.account)
                raise InvalidArgumentError(
                    say(
                        locale,
                        f"账本 {ledger_key} 的账户由 {names} 确定：应给出 {wanted} 个值，"
                        f"收到 {len(values)} 个",
                        f"ledger {ledger_key} keys its accounts by {names}: give "
                        f"{wanted} value(s), got {len(values)}",
                    ),
                    argument="key",
                    given=str(len(values)),
                    expected=f"{wanted} values: {names}",
                    code="count",
                )
            row = store.account_row(tx.conn, ledger.id, store.account_key(values))
            zero = Decimal(0).quantize(ledger.definition.quantum)
            view = AccountView(
                ledger_key,
                tuple(v or "" for v in values),
                row.balance if row else zero,
                row.held if row else zero,
                (row.balance - row.held - ledger.definition.floor)
                if row
                else zero - ledger.definition.floor,
            )
            if row is None:
                return view
            if entries:
                view.entries = [dict(r._mapping) for r in store.entry_rows(tx.conn, row.id, limit)]
            if lots:
                view.lots = [dict(r._mapping) for r in store.lot_rows(tx.conn, row.id)]
            if holds:
                view.holds = [dict(r._mapping) for r in store.hold_rows(tx.conn, row.id)]
            return view

    def ledgers(self, actor: Actor, app_key: str) -> list[LedgerDefinition]:
        """The app's published ledgers, in key order (app administrators only)."""
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        with self._context.transactions.read(app_key) as tx:
            self._require_admin(tx, actor, locale)
            return [ledger.definition for _key, ledger in sorted(ledgers_of(tx).items())]

    def accounts(self, actor: Actor, app_key: str, ledger_key: str) -> list[AccountView]:
        """The accounts of a ledger with their balances (app administrators only)."""
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        check.check_key("ledger", ledger_key, 60, locale)
        with self._context.transactions.read(app_key) as tx:
            self._require_admin(tx, actor, locale)
            ledger = _ledger(tx, ledger_key, locale)
            floor = ledger.definition.floor
            return [
                AccountView(
                    ledger_key,
                    tuple(v or "" for v in r.key_values),
                    r.balance,
                    r.held,
                    r.balance - r.held - floor,
                )
                for r in store.account_rows(tx.conn, ledger.id)
            ]

    def expire(self, now: datetime | None = None) -> ExpiryRun:
        """The expiry sweep: expire the remainder of every lot whose expiry passed, in
        every app, one batch of accounts per transaction. Idempotent (each lot's expiry
        is keyed by the lot) and catches up after downtime: it looks at every lot due by
        ``now``, however long ago."""
        now = now or self._context.clock()
        run = ExpiryRun()
        database = self._context.transactions.database
        while True:
            with database.write() as conn:
                due = store.due_lot_accounts(conn, now, SWEEP_BATCH)
                refs = _refs(conn, {ledger_id for ledger_id, _ in due})
                for ledger_id, account_id in due:
                    ref, key = refs[ledger_id], _account_key_of(conn, account_id)
                    ledger = Ledger(ledger_id, ref)
                    writer = LedgerWriter(conn, ledger.ref(), key, now, ledger.today(now))
                    # the sweep found due lots by their own dates: no shortcut
                    run.lots += writer.expire_due("scheduler", force=True)
                    run.accounts += 1
            if len(due) < SWEEP_BATCH:
                break
        # after the expiry, so a lot expired by this sweep is not reminded of
        run.reminders = self._remind(now)
        return run

    def _remind(self, now: datetime) -> int:
        """Queue the reminder of every lot that is due one (``lots.remind``), in every
        app: its last usable day is at most ``before`` days after today in the ledger's
        zone, it has not expired, something is left and it was not reminded yet. Each
        lot is marked reminded in the transaction that queues its ``rule.notify``
        event, so it is reminded once, and a sweep after downtime catches up."""
        database = self._context.transactions.database
        with database.read() as conn:
            reminding = store.reminding_ledgers(conn)
        queued = 0
        for ledger_id, app, source in reminding:
            definition = ledger_from_source(source)
            remind = definition.lots.remind if definition.lots else None
            if remind is None:  # a reminder the loader would refuse: nothing to send
                continue
            ledger = Ledger(ledger_id, definition)
            today = ledger.today(now)
            last_day = remind.last_days_due(today)
            while True:
                with database.write() as conn:
                    due = store.due_reminder_lots(conn, ledger_id, last_day, now, SWEEP_BATCH)
                    journal = Journal("scheduler", now)
                    for lot_id in due:
                        lot = store.claim_reminder(conn, lot_id, now)
                        if lot is None:  # another sweep reminded it, or it was spent
                            continue
                        _queue_reminder(journal, app, definition, lot, today)
                        queued += 1
                    journal.flush(conn)
                if len(due) < SWEEP_BATCH:
                    break
        return queued

    @staticmethod
    def _require_admin(tx: Transaction, actor: Actor, locale: str) -> None:
        """App administrators read ledgers (before the organisation has people, whoever
        runs the engine does, as for installing)."""
        if not tx.has_people():
            return
        if not tx.access(actor).admin:
            raise PermissionDeniedError(
                say(
                    locale,
                    f"只有应用 {tx.app} 的管理员可以查看账本",
                    f"only administrators of app {tx.app} may read its ledgers",
                )
            )


def reminder_values(ledger: LedgerDefinition, lot: Any, today: date) -> dict[str, Any]:
    """What a reminder's templates see as ``record``: the account values by name, the
    ledger (``ledger``, ``ledger_name``), the lot (``lot``, ``original``, ``remaining``
    as 7,250.00, ``posted_on``, ``expires_on`` as 2026-04-30, ``days_left`` from today
    to the last usable day) and the default ``title``."""
    values: dict[str, Any] = dict(zip(ledger.account, lot.key_values, strict=False))
    d = ledger.decimals
    remaining = _money(lot.remaining, d)
    expires_on = lot.expires_on.isoformat()
    values.update(
        ledger=ledger.key,
        ledger_name=ledger.label("zh-CN"),
        lot=int(lot.id),
        original=_money(lot.original, d),
        remaining=remaining,
        posted_on=lot.posted_on.isoformat(),
        expires_on=expires_on,
        days_left=(lot.expires_on - today).days,
        # the title when the notify gives none (the engine's default language)
        title=f"{ledger.label('zh-CN')}将于 {expires_on} 到期，剩余 {remaining}",
    )
    return values


def _queue_reminder(
    journal: Journal, app: str, ledger: LedgerDefinition, lot: Any, today: date
) -> None:
    """Queue one lot's reminder as a ``rule.notify`` event: the rules' deliverer sends it
    (people's notification centre and mail, or a group robot) after commit."""
    assert ledger.lots is not None and ledger.lots.remind is not None
    payload = {
        "rule": f"{ledger.key}.remind",
        "action": event_data(dict(ledger.lots.remind.notify)),
        "record": event_data(reminder_values(ledger, lot, today)),
        "ledger": ledger.key,
        "lot": int(lot.id),
    }
    key = f"ledger.remind:{app}.{ledger.key}:lot:{int(lot.id)}"
    journal.event("rule.notify", Subject(app, None, None), payload, key)


def _refs(conn: Any, ids: set[int]) -> dict[int, LedgerDefinition]:
    return {
        ledger_id: ledger_from_source(source)
        for ledger_id, source in store.ledgers_by_id(conn, ids)
    }


def _account_key_of(conn: Any, account_id: int) -> list[str | None]:
    return store.account_key_values(conn, account_id)


__all__ = [
    "AccountView",
    "ExpiryRun",
    "Ledger",
    "LedgerUseCases",
    "ledger_reader",
    "ledgers_of",
    "publish",
    "refusal_text",
    "reminder_values",
    "run_ledger_action",
]
