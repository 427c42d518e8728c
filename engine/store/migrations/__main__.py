"""``python -m engine.store.migrations new "what changes" [--autogenerate]``: a new revision.

The file goes to ``engine/store/migrations/versions/`` as ``<NNNN>_<slug>.py``, numbered
after the newest one. ``--autogenerate`` fills in the operations by comparing
``engine_tables.metadata`` with a scratch SQLite database upgraded to the newest
revision; read and edit the result (PostgreSQL-only details, data steps, and renames,
which autogenerate sees as a drop and an add).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from alembic import command

from engine.store.database import Database
from engine.store.migrations import alembic_config, head_revision, upgrade_to_head


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.store.migrations")
    sub = parser.add_subparsers(dest="command", required=True)
    new = sub.add_parser("new", help="write a new revision file")
    new.add_argument("message", help="what the revision changes, e.g. 'add flow tables'")
    new.add_argument("--autogenerate", action="store_true", help="fill in the operations")
    sub.add_parser("head", help="print the newest revision")
    args = parser.parse_args(argv)
    if args.command == "head":
        print(head_revision())
        return 0
    rev_id = f"{int(head_revision()) + 1:04d}"
    if not args.autogenerate:
        script = command.revision(alembic_config(), args.message, rev_id=rev_id)
    else:
        with tempfile.TemporaryDirectory() as scratch:
            database = Database(f"sqlite:///{Path(scratch) / 'head.db'}")
            try:
                with database.write() as conn:
                    upgrade_to_head(conn)
                    script = command.revision(
                        alembic_config(conn), args.message, rev_id=rev_id, autogenerate=True
                    )
            finally:
                database.dispose()
    path = script.path if script is not None and not isinstance(script, list) else "?"
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
