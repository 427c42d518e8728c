"""Holding Python's cyclic garbage collector off during a bulk write.

An import of 100,000 rows keeps its converted rows in memory while it writes them, and
every record written allocates a few dozen containers. The collector's full passes then
walk that whole heap again and again: measured here, 40 % of a 20,000-row import's time
(tests/bench/bench_import.py). Reference counting still frees everything acyclic while the
collector is off; cyclic garbage waits until the import ends, when the collector is back.

Reference cycles made while writing (a few kilobytes per record) would pile up while the
collector is off, so the import calls :func:`sweep_young` after each chunk: with the
collector off every object allocated since the last sweep is still in the youngest
generation, so the sweep looks at the chunk's own objects once and frees their cycles,
and never walks the rows the import holds.

The collector is process-wide, so the pause is counted: concurrent imports in one
process (threads of a web worker) turn it on again only when the last one ends, and a
collector some other code had turned off stays off.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cyclic garbage collector off (then as it was before)."""
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()


def sweep_young() -> None:
    """Free the reference cycles made since the last sweep (a cheap, young-only pass)."""
    if _holders:
        gc.collect(0)


__all__ = ["collector_paused", "sweep_young"]
