"""Ledger accounts, entries, lots and holds (SQLAlchemy Core; docs/ledgers.md).

Every change of an account goes through :class:`LedgerWriter` inside the caller's write
transaction: it locks the account row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite
writes are serialised by ``BEGIN IMMEDIATE``), records the action under its idempotency
key (a key already recorded means the action was done: nothing is written), appends the
entries, changes lots and holds, and stores the account's new ``balance`` and ``held``
in the same transaction. Reading a balance is then one unique-index read
(:func:`account_row`), whatever the number of entries.

Entries and operations are only ever inserted here; migration 0011 adds triggers that
refuse UPDATE and DELETE on them. A mistake is undone by a ``reverse``.

Refusals are :class:`LedgerRefusal` (a code and the figures); the service words them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from engine.store.ledger_tables import (
    ledger_accounts,
    ledger_entries,
    ledger_holds,
    ledger_lots,
    ledger_operations,
    ledgers,
)

_A = ledger_accounts.c
_E = ledger_entries.c
_L = ledger_lots.c
_H = ledger_holds.c
_O = ledger_operations.c
#: joins the values of an account key into one text (they never hold this character)
KEY_SEPARATOR = "\x1f"
ZERO = Decimal(0)
#: lots read per round trip while consuming
LOT_BATCH = 50


class LedgerRefusal(Exception):
    """An action the ledger refuses: ``code`` (floor, no_hold, too_much, held, amount)
    and the figures the message needs."""

    def __init__(self, code: str, **figures: Any):
        super().__init__(code)
        self.code = code
        self.figures = figures


@dataclass(frozen=True)
class LedgerRef:
    """What the writer needs of a ledger definition."""

    id: int
    key: str
    floor: Decimal
    lots: bool
    order: str  # fifo | nearest_expiry


@dataclass(frozen=True)
class Source:
    """The record an action comes from (its form and id) and the rule that acted."""

    form: str | None = None
    record_id: int | None = None
    rule: str | None = None
    by: str = "system"
    memo: str | None = None


@dataclass
class Outcome:
    """What one action wrote: nothing (a repeated key), or its entries."""

    done: bool
    operation_id: int | None = None
    amount: Decimal = ZERO
    entries: list[dict[str, Any]] = field(default_factory=list)


def account_key(values: Sequence[Any]) -> str:
    """The stored key of an account from its key values (text, in declared order)."""
    return KEY_SEPARATOR.join("" if v is None else str(v) for v in values)


# -- definitions --------------------------------------------------------------------------
def publish_ledgers(
    conn: sa.Connection,
    app: str,
    definitions: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    by: str,
    now: datetime,
) -> bool:
    """Store ``app``'s ledgers (key, source) at install; True when any changed. A ledger
    no longer declared keeps its row (its accounts and entries stay readable)."""
    stored = {
        row.key: (row.id, row.definition)
        for row in conn.execute(
            sa.select(ledgers.c.id, ledgers.c.key, ledgers.c.definition).where(ledgers.c.app == app)
        )
    }
    changed = False
    for key, source in definitions:
        data = dict(source)
        if key not in stored:
            conn.execute(
                ledgers.insert().values(
                    app=app, key=key, definition=data, published_at=now, published_by=by
                )
            )
            changed = True
        elif stored[key][1] != data:
            conn.execute(
                ledgers.update()
                .where(ledgers.c.id == stored[key][0])
                .values(definition=data, published_at=now, published_by=by)
            )
            changed = True
    return changed


def ledger_rows(conn: sa.Connection, app: str) -> list[tuple[int, str, dict[str, Any]]]:
    """(id, key, stored definition) of every ledger ``app`` declared."""
    rows = conn.execute(
        sa.select(ledgers.c.id, ledgers.c.key, ledgers.c.definition)
        .where(ledgers.c.app == app)
        .order_by(ledgers.c.id)
    )
    return [(int(r.id), r.key, dict(r.definition)) for r in rows]


# -- reads --------------------------------------------------------------------------------
_ACCOUNT = sa.select(_A.id, _A.balance, _A.held, _A.key_values).where(
    _A.ledger_id == sa.bindparam("ledger"), _A.account_key == sa.bindparam("key")
)


def ledgers_by_id(conn: sa.Connection, ids: Iterable[int]) -> list[tuple[int, dict[str, Any]]]:
    """(id, stored definition) of the ledgers with these ids (any app)."""
    wanted = sorted(ids)
    if not wanted:
        return []
    rows = conn.execute(
        sa.select(ledgers.c.id, ledgers.c.definition).where(ledgers.c.id.in_(wanted))
    )
    return [(int(r.id), dict(r.definition)) for r in rows]


def account_key_values(conn: sa.Connection, account_id: int) -> list[str | None]:
    """The key values of an account."""
    found = conn.execute(sa.select(_A.key_values).where(_A.id == account_id)).scalar_one()
    return list(found)


def account_row(conn: sa.Connection, ledger_id: int, key: str) -> Any:
    """The account row (id, balance, held, key_values), or None: one unique-index read."""
    return conn.execute(_ACCOUNT, {"ledger": ledger_id, "key": key}).first()


def account_rows(conn: sa.Connection, ledger_id: int, limit: int = 1000) -> list[Any]:
    """The accounts of a ledger, by key."""
    return list(
        conn.execute(
            sa.select(_A.id, _A.account_key, _A.key_values, _A.balance, _A.held)
            .where(_A.ledger_id == ledger_id)
            .order_by(_A.account_key)
            .limit(limit)
        )
    )


def entry_rows(conn: sa.Connection, account_id: int, limit: int = 1000) -> list[Any]:
    """An account's entries, oldest first (the last ``limit``)."""
    newest = (
        sa.select(
            _E.id,
            _E.kind,
            _E.amount,
            _E.held,
            _E.lot_id,
            _E.hold_id,
            _E.source_form,
            _E.source_id,
            _E.memo,
            _E.at,
            _O.idempotency_key,
        )
        .join(ledger_operations, _O.id == _E.operation_id)
        .where(_E.account_id == account_id)
        .order_by(_E.id.desc())
        .limit(limit)
    )
    return list(reversed(list(conn.execute(newest))))


def lot_rows(conn: sa.Connection, account_id: int) -> list[Any]:
    """An account's lots, in posting order."""
    return list(
        conn.execute(
            sa.select(
                _L.id,
                _L.original,
                _L.remaining,
                _L.posted_on,
                _L.expires_on,
                _L.expires_at,
                _L.reminded_at,
            )
            .where(_L.account_id == account_id)
            .order_by(_L.id)
        )
    )


def hold_rows(conn: sa.Connection, account_id: int) -> list[Any]:
    """An account's holds, oldest first."""
    return list(
        conn.execute(
            sa.select(_H.id, _H.name, _H.amount, _H.remaining, _H.status, _H.created_at)
            .where(_H.account_id == account_id)
            .order_by(_H.id)
        )
    )


def due_lot_accounts(conn: sa.Connection, now: datetime, limit: int) -> list[tuple[int, int]]:
    """(ledger id, account id) of accounts with a lot whose expiry passed and that still
    holds a remainder: what the expiry sweep works through."""
    rows = conn.execute(
        sa.select(_A.ledger_id, _L.account_id)
        .join(ledger_accounts, _A.id == _L.account_id)
        .where(_L.expires_at <= now, _L.remaining > 0)
        .group_by(_A.ledger_id, _L.account_id)
        .order_by(_L.account_id)
        .limit(limit)
    )
    return [(int(r[0]), int(r[1])) for r in rows]


# -- reminders before expiry (lots.remind) -------------------------------------------------
def reminding_ledgers(conn: sa.Connection) -> list[tuple[int, str, dict[str, Any]]]:
    """(id, app, stored definition) of every ledger, in any app, whose lots have a
    reminder (``lots.remind``): the few the sweep's reminder pass looks at."""
    rows = conn.execute(
        sa.select(ledgers.c.id, ledgers.c.app, ledgers.c.definition).order_by(ledgers.c.id)
    )
    found = []
    for row in rows:
        source = dict(row.definition)
        lots = (source.get("data") or {}).get("lots")
        if isinstance(lots, Mapping) and isinstance(lots.get("remind"), Mapping):
            found.append((int(row.id), row.app, source))
    return found


def due_reminder_lots(
    conn: sa.Connection, ledger_id: int, last_day: date, now: datetime, limit: int
) -> list[int]:
    """Ids of a ledger's lots whose reminder is due: usable through ``last_day`` or
    earlier, not expired at ``now``, something left, not reminded yet."""
    rows = conn.execute(
        sa.select(_L.id)
        .join(ledger_accounts, _A.id == _L.account_id)
        .where(
            _A.ledger_id == ledger_id,
            _L.reminded_at.is_(None),
            _L.remaining > 0,
            _L.expires_on <= last_day,
            _L.expires_at > now,
        )
        .order_by(_L.expires_on, _L.id)
        .limit(limit)
    )
    return [int(r[0]) for r in rows]


def claim_reminder(conn: sa.Connection, lot_id: int, now: datetime) -> Any:
    """Mark a lot reminded at ``now`` and return it (id, original, remaining, posted_on,
    expires_on, key_values), or None when it was reminded (or spent) meanwhile. The
    update takes the lot's row lock, so two sweeps at once remind it once; the caller
    queues the message in the same transaction."""
    claimed = conn.execute(
        ledger_lots.update()
        .where(_L.id == lot_id, _L.reminded_at.is_(None), _L.remaining > 0)
        .values(reminded_at=now)
    )
    if claimed.rowcount != 1:
        return None
    return conn.execute(
        sa.select(_L.id, _L.original, _L.remaining, _L.posted_on, _L.expires_on, _A.key_values)
        .join(ledger_accounts, _A.id == _L.account_id)
        .where(_L.id == lot_id)
    ).first()


# -- the writer ---------------------------------------------------------------------------
def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


# Statements every action runs, built once: building a Core statement costs more Python
# time than SQLite takes to run it (the benchmark compares with hand-written SQL).
_LOCK = (
    sa.select(_A.id, _A.balance, _A.held, _A.next_expiry)
    .where(_A.ledger_id == sa.bindparam("ledger"), _A.account_key == sa.bindparam("key"))
    .with_for_update()
)
_SET_ACCOUNT = (
    ledger_accounts.update()
    .where(_A.id == sa.bindparam("account"))
    .values(
        balance=sa.bindparam("new_balance", type_=_A.balance.type),
        held=sa.bindparam("new_held", type_=_A.held.type),
        next_expiry=sa.bindparam("new_next_expiry", type_=_A.next_expiry.type),
        updated_at=sa.bindparam("new_updated_at", type_=_A.updated_at.type),
    )
)
_SET_LOT = (
    ledger_lots.update()
    .where(_L.id == sa.bindparam("lot"))
    .values(remaining=sa.bindparam("rest", type_=_L.remaining.type))
)
_OPERATION = {
    name: dialect.insert(ledger_operations)
    .on_conflict_do_nothing(index_elements=["ledger_id", "idempotency_key"])
    .returning(_O.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
_OPEN_LOTS = {
    order: sa.select(_L.id, _L.remaining)
    .where(_L.account_id == sa.bindparam("account"), _L.remaining > 0)
    .where(sa.or_(_L.expires_at.is_(None), _L.expires_at > sa.bindparam("now")))
    .order_by(*columns)
    for order, columns in (
        ("fifo", (_L.id,)),
        ("nearest_expiry", (sa.case((_L.expires_on.is_(None), 1), else_=0), _L.expires_on, _L.id)),
    )
}


class LedgerWriter:
    """The actions on one account of one ledger, in the caller's transaction."""

    def __init__(
        self,
        conn: sa.Connection,
        ledger: LedgerRef,
        key_values: Sequence[Any],
        now: datetime,
        today: date,
    ):
        self.conn, self.ledger, self.now, self.today = conn, ledger, now, today
        self.key_values = [None if v is None else str(v) for v in key_values]
        self.key = account_key(self.key_values)
        row = self._lock()
        self.account_id = int(row.id)
        self.balance: Decimal = row.balance
        self.held: Decimal = row.held
        self.next_expiry: datetime | None = row.next_expiry
        self._entries: list[dict[str, Any]] = []

    # -- locking and bookkeeping ---------------------------------------------------------
    def _lock(self) -> Any:
        where = {"ledger": self.ledger.id, "key": self.key}
        row = self.conn.execute(_LOCK, where).first()
        if row is not None:
            return row
        self.conn.execute(
            _insert(self.conn, ledger_accounts)
            .values(
                ledger_id=self.ledger.id,
                account_key=self.key,
                key_values=self.key_values,
                balance=ZERO,
                held=ZERO,
                updated_at=self.now,
            )
            .on_conflict_do_nothing(index_elements=["ledger_id", "account_key"])
        )
        return self.conn.execute(_LOCK, where).one()

    def _operation(self, key: str, action: str, amount: Decimal, source: Source) -> int | None:
        """Record the action under ``key``; None when the key is already recorded."""
        found = self.conn.execute(
            _OPERATION[self.conn.dialect.name],
            {
                "ledger_id": self.ledger.id,
                "idempotency_key": key,
                "action": action,
                "account_id": self.account_id,
                "source_form": source.form,
                "source_id": source.record_id,
                "rule": source.rule,
                "amount": amount,
                "at": self.now,
                "by": source.by,
            },
        ).scalar()
        return None if found is None else int(found)

    def _entry(
        self,
        operation: int,
        kind: str,
        amount: Decimal,
        held: Decimal = ZERO,
        *,
        lot: int | None = None,
        hold: int | None = None,
        source: Source | None = None,
        memo: str | None = None,
    ) -> None:
        self.balance += amount
        self.held += held
        self._entries.append(
            {
                "operation_id": operation,
                "account_id": self.account_id,
                "kind": kind,
                "amount": amount,
                "held": held,
                "lot_id": lot,
                "hold_id": hold,
                "source_form": source.form if source else None,
                "source_id": source.record_id if source else None,
                "memo": (memo or (source.memo if source else None) or None),
                "at": self.now,
            }
        )

    def _flush(self, operation: int | None, amount: Decimal, *, always: bool = False) -> Outcome:
        """Append the entries and store the new balance; what was written."""
        entries, self._entries = self._entries, []
        if entries:
            self.conn.execute(ledger_entries.insert(), entries)
        if entries or always:
            self.conn.execute(
                _SET_ACCOUNT,
                {
                    "account": self.account_id,
                    "new_balance": self.balance,
                    "new_held": self.held,
                    "new_next_expiry": self.next_expiry,
                    "new_updated_at": self.now,
                },
            )
        return Outcome(operation is not None, operation, amount, entries)

    def _expires_too(self, at: datetime | None) -> None:
        """A lot that expires at ``at`` is open again (posted or restored)."""
        if at is not None and (self.next_expiry is None or at < self.next_expiry):
            self.next_expiry = at

    def _available(self) -> Decimal:
        return self.balance - self.held

    def _refuse_floor(self, wanted: Decimal, available: Decimal) -> LedgerRefusal:
        return LedgerRefusal(
            "floor",
            wanted=wanted,
            available=available - self.ledger.floor,
            floor=self.ledger.floor,
        )

    # -- expiry ----------------------------------------------------------------------------
    def expire_due(self, by: str = "system", *, force: bool = False) -> int:
        """Expire the remainder of this account's lots whose expiry passed; how many lots.
        Each expiry is its own operation keyed by the lot, so the sweep and the lazy
        expiry before a consumption never expire a lot twice."""
        if not self.ledger.lots:
            return 0
        if not force and (self.next_expiry is None or self.next_expiry > self.now):
            return 0  # nothing can be due yet: no query
        due = list(
            self.conn.execute(
                sa.select(_L.id, _L.remaining)
                .where(
                    _L.account_id == self.account_id,
                    _L.remaining > 0,
                    _L.expires_at <= self.now,
                )
                .order_by(_L.id)
            )
        )
        for lot_id, remaining in due:
            op = self._operation(f"expire:lot:{lot_id}", "expire", remaining, Source(by=by))
            if op is None:  # pragma: no cover - the lot's remainder is 0 once expired
                continue
            self.conn.execute(ledger_lots.update().where(_L.id == lot_id).values(remaining=ZERO))
            self._entry(op, "expire", -remaining, lot=lot_id)
        # the next lot to expire (one index read over the open lots)
        self.next_expiry = self.conn.execute(
            sa.select(sa.func.min(_L.expires_at)).where(
                _L.account_id == self.account_id, _L.remaining > 0
            )
        ).scalar()
        self._flush(0, ZERO, always=True)
        return len(due)

    # -- actions ---------------------------------------------------------------------------
    # Each action records its operation (the idempotency key) before it checks anything,
    # so a retry is a no-op even when the account has moved since (a retried consume
    # would otherwise find the balance spent by its first run). A refusal raises
    # LedgerRefusal after that insert: the caller's transaction must then roll back,
    # as a rule's failing action always does.
    def post(
        self,
        key: str,
        amount: Decimal,
        source: Source,
        *,
        expires_on: date | None = None,
        expires_at: datetime | None = None,
    ) -> Outcome:
        """Credit ``amount`` (a new lot on a ledger with lots)."""
        op = self._operation(key, "post", amount, source)
        if op is None:
            return Outcome(False)
        lot = None
        if self.ledger.lots:
            lot = self.conn.execute(
                ledger_lots.insert()
                .values(
                    account_id=self.account_id,
                    operation_id=op,
                    original=amount,
                    remaining=amount,
                    posted_on=self.today,
                    expires_on=expires_on,
                    expires_at=expires_at,
                    posted_at=self.now,
                )
                .returning(_L.id)
            ).scalar_one()
            self._expires_too(expires_at)
        self._entry(op, "post", amount, lot=lot, source=source)
        return self._flush(op, amount)

    def hold(self, key: str, name: str, amount: Decimal, source: Source) -> Outcome:
        """Freeze ``amount`` of the available balance under the hold ``name``."""
        self.expire_due(source.by)
        op = self._operation(key, "hold", amount, source)
        if op is None:
            return Outcome(False)
        open_hold = self._open_hold(name)
        if open_hold is not None:
            raise LedgerRefusal("held", name=name, remaining=open_hold.remaining)
        available = self._available()
        if available - amount < self.ledger.floor:
            raise self._refuse_floor(amount, available)
        hold_id = self.conn.execute(
            ledger_holds.insert()
            .values(
                account_id=self.account_id,
                name=name,
                amount=amount,
                remaining=amount,
                status="open",
                created_at=self.now,
            )
            .returning(_H.id)
        ).scalar_one()
        self._entry(op, "hold", ZERO, amount, hold=hold_id, source=source)
        return self._flush(op, amount)

    def release(self, key: str, name: str, source: Source) -> Outcome:
        """Release what remains of the open hold ``name`` (nothing when there is none)."""
        found = self._open_hold(name)
        if found is None:
            return Outcome(False)
        op = self._operation(key, "release", found.remaining, source)
        if op is None:
            return Outcome(False)
        self.conn.execute(
            ledger_holds.update().where(_H.id == found.id).values(remaining=ZERO, status="released")
        )
        self._entry(op, "release", ZERO, -found.remaining, hold=found.id, source=source)
        return self._flush(op, found.remaining)

    def consume(
        self,
        key: str,
        amount: Decimal | None,
        source: Source,
        *,
        hold: str | None = None,
    ) -> Outcome:
        """Debit ``amount`` from the lots (in the ledger's order) or, with ``hold``, out of
        that hold (default: all it still holds); never below the floor."""
        self.expire_due(source.by)
        held_from = None
        if hold is not None:
            held_from = self._open_hold(hold)
            if held_from is None:
                if self._done(key):  # a retry: its first run consumed the hold
                    return Outcome(False)
                raise LedgerRefusal("no_hold", name=hold)
            if amount is None:
                amount = held_from.remaining
        assert amount is not None
        op = self._operation(key, "consume", amount, source)
        if op is None:
            return Outcome(False)
        if held_from is not None and amount > held_from.remaining:
            raise LedgerRefusal("too_much", wanted=amount, most=held_from.remaining)
        # a hold's amount was checked against the floor when it was made
        available = self._available() + (amount if held_from is not None else ZERO)
        if available - amount < self.ledger.floor:
            raise self._refuse_floor(amount, available)
        hold_id = None if held_from is None else int(held_from.id)
        left = amount
        if self.ledger.lots:
            for lot_id, taken in self._take_from_lots(amount):
                held = -taken if hold_id is not None else ZERO
                self._entry(op, "consume", -taken, held, lot=lot_id, hold=hold_id, source=source)
                left -= taken
        if left > 0:
            if self.ledger.lots and self.ledger.floor >= 0:
                # the lots hold the whole balance: what they lack is a balance short of it
                raise self._refuse_floor(amount, amount - left)
            held = -left if hold_id is not None else ZERO
            self._entry(op, "consume", -left, held, hold=hold_id, source=source)
        if held_from is not None:
            rest = held_from.remaining - amount
            self.conn.execute(
                ledger_holds.update()
                .where(_H.id == held_from.id)
                .values(remaining=rest, status="open" if rest > 0 else "consumed")
            )
        return self._flush(op, amount)

    def reverse(
        self,
        key: str,
        original: Source,
        amount: Decimal | None,
        source: Source,
    ) -> Outcome:
        """Give back what ``original`` consumed from this account: ``amount`` (default all
        not yet given back), to the lots it came from, the last consumed first. A lot whose
        expiry passed is restored and expired at once (both entries are kept).

        A source that consumed nothing but posted (a statement booked by mistake) has its
        post taken back instead: from what remains of the lots it posted, the newest
        first, never below the floor (:meth:`_take_back`)."""
        last_consumed = sa.func.max(sa.case((_E.kind == "consume", _E.id)))
        rows = list(
            self.conn.execute(
                sa.select(_E.lot_id, sa.func.sum(_E.amount), last_consumed)
                .where(
                    _E.account_id == self.account_id,
                    _E.source_form == original.form,
                    _E.source_id == original.record_id,
                    # consumptions and what was given back of them (a post taken back
                    # is a negative reverse entry: not a consumption)
                    sa.or_(_E.kind == "consume", sa.and_(_E.kind == "reverse", _E.amount > 0)),
                )
                .group_by(_E.lot_id)
            )
        )
        # net consumed per lot (a consumption is negative), the last consumed first
        owed = sorted(
            ((lot, -total, last or 0) for lot, total, last in rows if total < 0),
            key=lambda item: -item[2],
        )
        most = sum((item[1] for item in owed), ZERO)
        if not owed:
            return self._take_back(key, original, amount, source)
        started = self._begin_reverse(key, amount, most, source)
        if started is None:
            return Outcome(False)
        op, amount = started
        expiry = self._lot_expiry([lot for lot, _, _ in owed if lot is not None])
        left = amount
        for lot_id, net, _last in owed:
            if left <= 0:
                break
            give = min(net, left)
            left -= give
            self._entry(op, "reverse", give, lot=lot_id, source=original, memo=source.memo)
            if lot_id is None:
                continue
            at = expiry.get(lot_id)
            if at is not None and at <= self.now:
                # D10: restored into an expired lot, so it expires at once (both entries kept)
                self._entry(op, "expire", -give, lot=lot_id, source=original, memo=source.memo)
                continue
            self.conn.execute(
                ledger_lots.update().where(_L.id == lot_id).values(remaining=_L.remaining + give)
            )
            self._expires_too(at)
        return self._flush(op, amount)

    def _begin_reverse(
        self, key: str, amount: Decimal | None, most: Decimal, source: Source
    ) -> tuple[int, Decimal] | None:
        """The reverse operation for ``amount`` (default ``most``, all that can be given
        back) and that amount; None when there is nothing to give back or the key was
        already used (a retry writes nothing). More than ``most`` is refused."""
        if amount is None:
            amount = most
        if amount <= 0:
            return None
        op = self._operation(key, "reverse", amount, source)
        if op is None:
            return None
        if amount > most:
            raise LedgerRefusal("too_much", wanted=amount, most=most)
        return op, amount

    def _take_back(
        self, key: str, original: Source, amount: Decimal | None, source: Source
    ) -> Outcome:
        """Take back what ``original`` posted and is still unspent (reverse of a post)."""
        lots = list(
            self.conn.execute(
                sa.select(_L.id, _L.remaining, _L.expires_at)
                .join(ledger_operations, _O.id == _L.operation_id)
                .where(
                    _L.account_id == self.account_id,
                    _O.source_form == original.form,
                    _O.source_id == original.record_id,
                    _O.action == "post",
                    _L.remaining > 0,
                )
                .order_by(_L.id.desc())
            )
        )
        usable = [(lot, rest) for lot, rest, at in lots if at is None or at > self.now]
        most = sum((rest for _lot, rest in usable), ZERO)
        unlotted = ZERO
        if not self.ledger.lots:
            posted = self.conn.execute(
                sa.select(sa.func.sum(_E.amount)).where(
                    _E.account_id == self.account_id,
                    _E.source_form == original.form,
                    _E.source_id == original.record_id,
                    _E.kind.in_(("post", "reverse")),
                )
            ).scalar()
            unlotted = most = max(posted or ZERO, ZERO)
        started = self._begin_reverse(key, amount, most, source)
        if started is None:
            return Outcome(False)
        op, amount = started
        available = self._available()
        if available - amount < self.ledger.floor:
            raise self._refuse_floor(amount, available)
        left = amount
        if unlotted:
            self._entry(op, "reverse", -amount, source=original, memo=source.memo)
            return self._flush(op, amount)
        for lot_id, rest in usable:
            if left <= 0:
                break
            take = min(rest, left)
            left -= take
            self._entry(op, "reverse", -take, lot=lot_id, source=original, memo=source.memo)
            self.conn.execute(_SET_LOT, [{"lot": lot_id, "rest": rest - take}])
        return self._flush(op, amount)

    # -- helpers ---------------------------------------------------------------------------
    def _done(self, key: str) -> bool:
        return (
            self.conn.execute(
                sa.select(_O.id).where(_O.ledger_id == self.ledger.id, _O.idempotency_key == key)
            ).first()
            is not None
        )

    def _open_hold(self, name: str) -> Any:
        return self.conn.execute(
            sa.select(_H.id, _H.remaining)
            .where(_H.account_id == self.account_id, _H.name == name, _H.status == "open")
            .order_by(_H.id.desc())
        ).first()

    def _lot_expiry(self, lot_ids: Iterable[int]) -> dict[int, datetime | None]:
        """Lot id -> the instant it expires (None: never)."""
        ids = list(lot_ids)
        if not ids:
            return {}
        rows = self.conn.execute(sa.select(_L.id, _L.expires_at).where(_L.id.in_(ids)))
        return {int(r[0]): r[1] for r in rows}

    def _take_from_lots(self, amount: Decimal) -> list[tuple[int, Decimal]]:
        """Take ``amount`` from the open lots in the ledger's order; (lot, taken) pairs."""
        base = _OPEN_LOTS.get(self.ledger.order, _OPEN_LOTS["nearest_expiry"])
        params = {"account": self.account_id, "now": self.now}
        taken: list[tuple[int, Decimal]] = []
        rests: list[dict[str, Any]] = []
        left = amount
        after = 0
        while left > 0:
            batch = list(self.conn.execute(base.offset(after).limit(LOT_BATCH), params))
            for lot_id, remaining in batch:
                take = min(remaining, left)
                taken.append((int(lot_id), take))
                rests.append({"lot": int(lot_id), "rest": remaining - take})
                left -= take
                if left <= 0:
                    break
            if len(batch) < LOT_BATCH:
                break
            after += LOT_BATCH
        if rests:  # one statement for every lot touched (executemany)
            self.conn.execute(_SET_LOT, rests)
        return taken


__all__ = [
    "KEY_SEPARATOR",
    "LedgerRef",
    "LedgerRefusal",
    "LedgerWriter",
    "Outcome",
    "Source",
    "account_key",
    "account_row",
    "account_rows",
    "account_key_values",
    "due_lot_accounts",
    "entry_rows",
    "hold_rows",
    "ledger_rows",
    "ledgers_by_id",
    "lot_rows",
    "publish_ledgers",
]
