"""The calendar tests pin what chinese-calendar knows to 2004..2026 (its 1.11 data).

A newer release that knows 2027 must not change what these tests mean by "a year the
library does not know yet": 2027 stays unknown here, whatever is installed.
"""

from __future__ import annotations

import pytest

from engine.store import calendar as stored

#: the years chinese-calendar 1.11 has data for
PINNED_YEARS = frozenset(range(2004, 2027))


@pytest.fixture(autouse=True)
def pinned_library(monkeypatch):
    monkeypatch.setattr(stored, "library_years", lambda: PINNED_YEARS)
    return PINNED_YEARS
