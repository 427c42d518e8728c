"""One process of the two-process registration race (test_registration_scenario.py).

Usage: register_once.py DATABASE_URL DEALER CUSTOMER_NAME GO_FILE. Prints ``ready``,
waits for GO_FILE to exist (so both processes start together), registers the customer
and prints one JSON line: ``{"outcome": "created"|"blocked", "messages": [...]}``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from engine.errors import RecordValidationError
from engine.service import Actor, Service


def main() -> None:
    url, dealer, name, go = sys.argv[1:5]
    service = Service(url)
    actor = Actor("li.na")
    # warm up: definitions and connections loaded before the start signal
    service.query_records(actor, "registration_demo", "registration")
    print("ready", flush=True)
    deadline = time.monotonic() + 60
    while not Path(go).exists():
        if time.monotonic() > deadline:
            raise SystemExit("no start signal")
        time.sleep(0.001)
    data = {"dealer": dealer, "customer_name": name}
    try:
        service.create_record(actor, "registration_demo", "registration", data)
        result = {"outcome": "created", "messages": []}
    except RecordValidationError as exc:
        result = {"outcome": "blocked", "messages": [e.message for e in exc.errors]}
    finally:
        service.close()
    print(json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
