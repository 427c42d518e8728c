"""A scheduler process for test_two_processes.py (run as a script, not collected).

    python tests/scheduler/run_scheduler.py DATABASE_URL RECEIVER_URL LOG HOLDER

Runs the scheduler (sweep every 0.3 s, lease 2 s) delivering ``record.created`` events to
the receiver, appending ``{"holder", "leading", "at"}`` lines to LOG whenever it starts
or stops leading, until SIGTERM.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.service import Service  # noqa: E402
from engine.service.scheduler import Scheduler  # noqa: E402
from tests.scheduler._receiver import webhook  # noqa: E402


def main() -> None:
    url, receiver_url, log_path, holder = sys.argv[1:5]

    def note(who: str, leading: bool) -> None:
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(json.dumps({"holder": who, "leading": leading, "at": time.time()}) + "\n")

    service = Service(url)
    scheduler = Scheduler(
        service,
        holder=holder,
        sweep_seconds=0.3,
        lease=timedelta(seconds=2),
        sweep_files=False,
        on_leadership=note,
    )
    scheduler.dispatcher.register("record.created", webhook(receiver_url))
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    scheduler.start()
    print("started", flush=True)
    stopped.wait()
    scheduler.stop()
    service.close()


if __name__ == "__main__":
    main()
