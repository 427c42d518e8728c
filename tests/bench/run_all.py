"""Run every benchmark in one go and print their figures (ratios measured in each run).

    python tests/bench/run_all.py [--postgres URL] [--rows N] [--count N] [--users N]

The hostile-submissions run is in memory (no database) and takes about 15 s. ``--rows``
sizes both query tables (the plain and the dealer-scoped one); the submit run includes
the submissions with permissions (``--permissions``). The approval-flow run measures
SpiffWorkflow too when it is installed (``pip install SpiffWorkflow``; skipped with a
message otherwise).
The report run loads 1,000,000 requests and 3,000,000 lines once (about 5 minutes; kept
for later runs) and then takes about 20 minutes, most of it on SQLite.

``--postgres`` defaults to the local server (postgresql+psycopg://postgres@127.0.0.1:5432/postgres);
pass ``--postgres none`` to measure SQLite only. Nothing is asserted: the figures go in
the issue note and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="URL, or 'none'")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for the query benchmark")
    parser.add_argument("--count", type=int, default=500, help="records for the submit benchmark")
    parser.add_argument(
        "--users", type=int, default=10_000, help="users for the managers benchmark"
    )
    args = parser.parse_args()
    postgres = [] if args.postgres == "none" else ["--postgres", args.postgres]
    runs = [
        ("expressions", ["bench_expressions.py"]),
        ("submit", ["bench_submit.py", "--count", str(args.count), "--permissions", *postgres]),
        ("query", ["bench_query.py", "--rows", str(args.rows), *postgres]),
        ("scoped query", ["bench_scoped_query.py", "--rows", str(args.rows), *postgres]),
        ("managers", ["bench_managers.py", "--users", str(args.users), *postgres]),
        ("approval flows", ["bench_flows.py", *postgres]),
        ("inbox", ["bench_inbox.py", *postgres]),
        ("hostile submissions", ["bench_hostile_submissions.py"]),
        ("rules and outbox", ["bench_rules.py", *postgres]),
        ("best-match lookups", ["bench_lookups.py", *postgres]),
        ("credit check under a lock", ["bench_credit.py", *postgres]),
        ("ledgers", ["bench_ledger.py", *postgres]),
        ("report widgets and dashboards", ["bench_reports.py", *postgres]),
    ]
    status = 0
    for title, command in runs:
        print(f"\n=== {title}", flush=True)
        done = subprocess.run([sys.executable, str(HERE / command[0]), *command[1:]], check=False)
        status = status or done.returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
