"""Persistence: engine tables, one real table per form, publishing (DDL), queries, serials.

SQLAlchemy Core only; the same code runs on SQLite (the embedded default) and PostgreSQL.
"""

from engine.store.database import Database
from engine.store.migration import ConversionProblem, MigrationPlan
from engine.store.publish import PublishedVersion
from engine.store.query import Filter, QueryError

__all__ = [
    "ConversionProblem",
    "Database",
    "Filter",
    "MigrationPlan",
    "PublishedVersion",
    "QueryError",
]
