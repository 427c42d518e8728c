"""The service facade: the public Python API (CLI, web, templates and tests use only this)."""

from engine.service.actor import SYSTEM_ACTOR, Actor
from engine.service.results import InstalledApp, InstallReport, Record, RecordPage, Revision
from engine.service.service import Service
from engine.store.migration import ConversionProblem, MigrationPlan
from engine.store.publish import PublishedVersion
from engine.store.query import Filter, QueryError

__all__ = [
    "SYSTEM_ACTOR",
    "Actor",
    "ConversionProblem",
    "Filter",
    "InstallReport",
    "InstalledApp",
    "MigrationPlan",
    "PublishedVersion",
    "QueryError",
    "Record",
    "RecordPage",
    "Revision",
    "Service",
]
