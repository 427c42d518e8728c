"""A consumer process for tests/store/test_outbox.py (not a test module).

``python outbox_consumer.py URL NAME START_FILE BATCH``: touches START_FILE.ready-NAME,
waits until START_FILE exists
(so two consumers start together), then claims batches of due events, "delivers"
them (a short sleep) and acknowledges them until none is left, printing every claimed id, one a line.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from engine.store.database import Database
from engine.store.outbox import acknowledge, claim_due


def main(url: str, name: str, start_file: str, batch: int) -> None:
    database = Database(url)
    Path(f"{start_file}.ready-{name}").touch()  # imports done: ready to start
    deadline = time.monotonic() + 60
    while not Path(start_file).exists():
        if time.monotonic() > deadline:
            raise SystemExit("the start signal never came")
        time.sleep(0.005)
    claimed: list[int] = []
    while True:
        now = datetime.now(UTC)
        with database.write() as conn:
            events = claim_due(conn, name, now=now, limit=batch)
        if not events:
            break
        ids = [e.id for e in events]
        claimed.extend(ids)
        # "delivering", outside any transaction: as a real consumer does, this leaves the
        # other consumer its turns at the lock (SQLite's busy handler is not fair)
        time.sleep(0.002)
        with database.write() as conn:
            done = acknowledge(conn, name, ids, datetime.now(UTC))
        if done != set(ids):
            raise SystemExit(f"{name} lost events it had claimed: {sorted(set(ids) - done)}")
    database.dispose()
    print("\n".join(str(i) for i in claimed))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
