"""What every use case of one Service shares: transactions, clock, files folder, hooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.service.hooks import Hooks
from engine.service.transactions import Transactions


@dataclass
class ServiceContext:
    """The shared state of one Service's use cases."""

    transactions: Transactions
    clock: Callable[[], datetime]
    files_dir: Path | None
    hooks: Hooks
    #: seconds one submission may take to prepare (None: unbounded)
    submission_budget: float | None = None
