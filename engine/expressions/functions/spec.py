"""The shape of one entry of the function library."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Needs = Literal["", "context", "deadline"]


@dataclass(frozen=True)
class FunctionSpec:
    """One function of the formula language: how to call it and how it is documented.

    ``impl`` receives evaluated arguments (preceded by the evaluation context when
    ``needs == "context"``, or by the time-budget deadline when ``"deadline"``).
    ``aggregate`` functions accept sub-table columns (``lines.amount``). ``lazy``
    functions (IF, AND, OR) are compiled inline so that only the needed arguments are
    evaluated; they have no ``impl``. ``example`` evaluates to ``result`` with the
    example record of :mod:`engine.expressions.reference` (a test keeps this true).
    """

    name: str
    signature: str
    doc: str
    example: str
    result: str
    impl: Callable[..., Any] | None
    min_args: int
    max_args: int | None
    needs: Needs = ""
    aggregate: bool = False
    lazy: bool = False

    def arity_text(self) -> str:
        """ "2", "1 to 3" or "at least 1", for error messages."""
        if self.max_args == self.min_args:
            return str(self.min_args)
        if self.max_args is None:
            return f"at least {self.min_args}"
        return f"{self.min_args} to {self.max_args}"
