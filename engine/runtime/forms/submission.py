"""The working state of one prepare() call: values so far, errors so far, what was given.

Each step of preparation (intake, defaults, fill_from, formulas, checks) reads and
updates one :class:`Submission`; none of them raises for a data problem, they add a
:class:`RecordError` and carry on, so a person sees every problem at once.
"""

from __future__ import annotations

import time
from collections import ChainMap
from collections.abc import Mapping
from typing import Any

from engine.errors import ExpressionError, RecordError
from engine.expressions import EvaluationContext
from engine.runtime.forms.environment import RecordEnvironment, RecordFetcher, evaluation_context
from engine.runtime.forms.lookups import NoMatch
from engine.runtime.forms.messages import expression_message, row_message
from engine.runtime.forms.plan import FieldPlan, FormPlan

#: what an expression may raise at run time; each becomes a RecordError, never a crash
EXPRESSION_FAULTS = (ExpressionError, ArithmeticError, TypeError, ValueError)

_EMPTY: Mapping[str, Any] = {}


class OutOfTime(Exception):
    """The submission used up its time budget (``RecordEnvironment.deadline``)."""


class _Scope(ChainMap):
    """The names an expression sees; a ChainMap with a cheaper ``get``.

    Compiled formulas read their names only through ``get``, once per name per row.
    ChainMap's own ``get`` goes through ``__contains__`` (a generator over the maps)
    and then ``__getitem__`` (a second pass); one pass gives the same answer.
    """

    def get(self, key: Any, default: Any = None) -> Any:
        for mapping in self.maps:
            if key in mapping:
                return mapping[key]
        return default


class Submission:
    """One record being prepared: a new one (``existing is None``) or an update."""

    def __init__(
        self,
        plan: FormPlan,
        env: RecordEnvironment,
        existing: Mapping[str, Any] | None,
        source: str,
        record_names: frozenset[str],
    ):
        self.plan = plan
        self.env = env
        self.locale = env.locale
        self.deadline = env.deadline
        self.source = source
        self.existing = existing
        self.is_new = existing is None
        self.fetcher = RecordFetcher(env.fetch_record)
        self.context = evaluation_context(env, self.fetcher, plan.relation_targets)
        if plan.form.lookups:
            from engine.runtime.forms.lookups import Matcher

            # MATCH: the form's declared lookups, answered through env.best_match
            self.context.match = Matcher(plan.form, env.best_match, self.context)
        # System columns (id, status...) of the stored record, readable by expressions.
        self.record: Mapping[str, Any] = (
            {k: existing[k] for k in record_names if k in existing} if existing else _EMPTY
        )
        self.values: dict[str, Any] = {}
        #: top-level keys present in the input (and accepted)
        self.given: set[str] = set()
        #: per given sub-table: per row, the columns present in the input
        self.row_given: dict[str, list[set[str]]] = {}
        #: per sub-table: per row, the stored row it updates (None for a new row)
        self.row_origin: dict[str, list[Mapping[str, Any] | None]] = {}
        #: every error so far, in the order found; a retracted one becomes None
        self._errors: list[RecordError | None] = []
        #: (path, 0-based row) -> positions in ``_errors``, to retract without a scan
        self._positions: dict[tuple[str, int | None], list[int]] = {}
        #: (path, 0-based row) of every value that already has an error
        self.errored: set[tuple[str, int | None]] = set()
        #: top-level key -> how many errored (path, row) pairs it heads
        self._heads: dict[str, int] = {}
        self.tainted: set[str] = set()
        #: (path, 0-based row) of formula columns left blank because of an error
        self.tainted_cells: set[tuple[str, int]] = set()
        self._other_form_context: EvaluationContext | None = None

    # -- errors ----------------------------------------------------------------------
    # Every operation below is O(1) per error (retracting a whole sub-table is one pass
    # over the errored keys): a submission of 10,000 bad rows must not do 10,000**2 work.
    @property
    def errors(self) -> list[RecordError]:
        """The errors found so far, in the order found."""
        return [e for e in self._errors if e is not None]

    def error(self, path: str | None, message: str, code: str, row: int | None = None) -> None:
        """Record a problem; ``row`` is the 0-based row index (the error shows it 1-based)."""
        if row is not None:
            message = row_message(self.locale, row + 1, message)
        shown_row = None if row is None else row + 1
        self._errors.append(RecordError(field=path, message=message, code=code, row=shown_row))
        if path is None:
            return
        key = (path, row)
        self._positions.setdefault(key, []).append(len(self._errors) - 1)
        if key not in self.errored:
            self.errored.add(key)
            head = path.partition(".")[0]
            self._heads[head] = self._heads.get(head, 0) + 1

    def retract(self, path: str, row: int | None = None, *, whole_subtable: bool = False) -> None:
        """Forget errors about input that turned out to be ignored (a read-only field)."""
        if whole_subtable:
            if path not in self._heads:
                return
            keys = [k for k in self._positions if k[0] == path or k[0].startswith(path + ".")]
        else:
            keys = [(path, row)] if (path, row) in self._positions else []
        for key in keys:
            for position in self._positions.pop(key):
                self._errors[position] = None
            self.errored.discard(key)
            head = key[0].partition(".")[0]
            self._heads[head] -= 1
            if not self._heads[head]:
                del self._heads[head]

    @property
    def errored_heads(self) -> Mapping[str, int]:
        """Top-level keys with an error anywhere (a sub-table key for errors in its rows).

        A live view (use ``in``), kept up to date by :meth:`error` and :meth:`retract`.
        """
        return self._heads

    def reads_error(self, names) -> bool:
        """Whether any of these top-level names has an error or a formula blank because of one."""
        heads, tainted = self._heads, self.tainted
        return any(name in heads or name in tainted for name in names)

    def check_deadline(self) -> None:
        """Raise :class:`OutOfTime` once the submission's deadline has passed.

        Called between steps and before every row of the per-row loops: one clock read
        costs about 50 ns, far less than a row's work, and checking only every few rows
        would let rows with costly formulas run well past the deadline.
        """
        deadline = self.deadline
        if deadline is not None and time.monotonic() > deadline:
            raise OutOfTime

    def has_error(self, path: str, row: int | None = None) -> bool:
        return (path, row) in self.errored

    # -- evaluation ------------------------------------------------------------------
    def scope(self, row: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
        """The names an expression sees: the row's columns, then fields, then system columns."""
        if row is None:
            return _Scope(self.values, self.record)
        return _Scope(row, self.values, self.record)

    def evaluate(
        self,
        field: FieldPlan,
        purpose: str,
        row: Mapping[str, Any] | None = None,
        row_index: int | None = None,
        scope: Mapping[str, Any] | None = None,
    ) -> tuple[bool, Any]:
        """Evaluate one of ``field``'s expressions; a fault is recorded and gives (False, None)."""
        expression = field.expressions[purpose]
        try:
            return True, expression.evaluate(
                scope if scope is not None else self.scope(row), self.context
            )
        except NoMatch as miss:  # a lookup's on_none error: its own message, located
            self.error(field.path, miss.in_locale(self.locale), "no_match", row_index)
            return False, None
        except EXPRESSION_FAULTS as fault:
            detail = getattr(fault, "message", None) or str(fault)
            text = expression_message(purpose, self.locale, field.label, detail)
            self.error(field.path, text, "expression", row_index)
            return False, None

    def matches_filter(self, field: FieldPlan, other: Mapping[str, Any]) -> bool:
        """Whether another form's record passes ``field``'s relation/options ``filter``.

        A blank result does not match (as a WHERE clause would not). The filter reads
        the other form's fields, so LOOKUP is not offered: this form's relation targets
        are not that form's. Raises one of :data:`EXPRESSION_FAULTS` on a fault.
        """
        if field.target_filter is None:
            return True
        if self._other_form_context is None:
            self._other_form_context = EvaluationContext(
                now=self.env.now,
                timezone=self.env.now.tzinfo,
                user=self.env.user,
                department=self.env.department,
                dealer=self.env.dealer,
                region=self.env.region,
            )
        return bool(field.target_filter.evaluate(other, self._other_form_context))

    def condition(
        self,
        field: FieldPlan,
        purpose: str,
        fallback: bool,
        row: Mapping[str, Any] | None = None,
        row_index: int | None = None,
        scope: Mapping[str, Any] | None = None,
    ) -> bool:
        """A visible_if / required_if / readonly_if as a bool; absent or faulty gives ``fallback``."""
        if purpose not in field.expressions:
            return fallback
        ok, value = self.evaluate(field, purpose, row, row_index, scope)
        return bool(value) if ok else fallback

    # The three flags below are asked for every field of every row: the plan holds each
    # condition (or None), so a field without one answers without a dict lookup or a
    # call to condition().
    def is_readonly(
        self,
        field: FieldPlan,
        row: Mapping[str, Any] | None = None,
        row_index: int | None = None,
        scope: Mapping[str, Any] | None = None,
    ) -> bool:
        if field.always_readonly:
            return True
        if field.readonly_if is None:
            return False
        return self.condition(field, "readonly_if", False, row, row_index, scope)

    def is_visible(self, field: FieldPlan, row=None, row_index=None) -> bool:
        if field.visible_if is None:
            return True
        return self.condition(field, "visible_if", True, row, row_index)

    def is_required(self, field: FieldPlan, row=None, row_index=None) -> bool:
        if field.definition.required:
            return True
        if field.required_if is None:
            return False
        return self.condition(field, "required_if", False, row, row_index)
