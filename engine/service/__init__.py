"""The service facade: the public Python API (CLI, web, templates and tests use only this).

Everything a caller outside the engine needs is importable from here: the Service, the
values it returns, the errors it raises, and the pure helpers that read app folders
and show values, so that ``web/``, ``templates_lib/`` and the CLI import nothing else
of the engine (tests/test_boundaries.py checks it).
"""

from engine.definitions import check_app, load_app, load_app_text
from engine.definitions.durations import Duration, parse_duration
from engine.definitions.model import I18nText
from engine.errors import (
    BatchValidationError,
    ConflictError,
    DataCheckError,
    DefinitionError,
    DefinitionErrors,
    FlowActionError,
    InvalidArgumentError,
    MigrationError,
    NotFoundError,
    OrgFileError,
    OrgFileProblem,
    PermissionDeniedError,
    RecordError,
    RecordValidationError,
    ServiceError,
    UnsupportedDatabaseError,
)
from engine.org.org_file import OrgSnapshot, read_org_file, read_org_text
from engine.runtime.working_time import CalendarYearMissing, WorkingCalendar
from engine.service.actor import SYSTEM_ACTOR, Actor
from engine.service.automation_history import (
    AutomatedChange,
    AutomatedMessage,
    AutomationHistory,
    BatchOutput,
)
from engine.service.batch_jobs import BatchJobInfo, BatchJobRun
from engine.service.calendar import CalendarSeed, CalendarUseCases
from engine.service.data_checks import RuleFailure
from engine.service.display import display_value
from engine.service.explain import PermissionExplanation
from engine.service.hooks import HOOK_POINTS, Hooks, PublishContext, RecordChange
from engine.service.import_report import ImportIssue, ImportPreview, ImportReport, ImportRun
from engine.service.machines import TransitionError
from engine.service.notifications import Notification, NotificationPage
from engine.service.org import (
    ApiToken,
    OrgNode,
    OrgRole,
    OrgUseCases,
    OrgUser,
    OrgUserPage,
    OrgUserRow,
)
from engine.service.results import InstalledApp, InstallReport, Record, RecordPage, Revision
from engine.service.role_maps import RoleMappingError
from engine.service.rules import RuleError
from engine.service.service import Service
from engine.store.calendar import CalendarDay
from engine.store.database import DatabaseUnavailableError, sqlite_file
from engine.store.migration import ConversionProblem, MigrationPlan
from engine.store.org_writes import KindSummary, LoadSummary
from engine.store.publish import PublishedVersion
from engine.store.query import Filter, QueryError

__all__ = [
    "ImportIssue",
    "ImportPreview",
    "ImportReport",
    "ImportRun",
    "RuleError",
    "TransitionError",
    "BatchJobInfo",
    "BatchJobRun",
    "I18nText",
    "FlowActionError",
    "HOOK_POINTS",
    "SYSTEM_ACTOR",
    "Actor",
    "AutomatedChange",
    "AutomatedMessage",
    "AutomationHistory",
    "ApiToken",
    "BatchOutput",
    "BatchValidationError",
    "CalendarDay",
    "CalendarSeed",
    "CalendarUseCases",
    "CalendarYearMissing",
    "ConflictError",
    "ConversionProblem",
    "DataCheckError",
    "DatabaseUnavailableError",
    "DefinitionError",
    "DefinitionErrors",
    "Duration",
    "Filter",
    "Hooks",
    "InstallReport",
    "InstalledApp",
    "InvalidArgumentError",
    "KindSummary",
    "LoadSummary",
    "MigrationError",
    "MigrationPlan",
    "NotFoundError",
    "Notification",
    "NotificationPage",
    "OrgFileError",
    "OrgFileProblem",
    "OrgSnapshot",
    "OrgNode",
    "OrgRole",
    "OrgUseCases",
    "OrgUser",
    "OrgUserPage",
    "OrgUserRow",
    "PermissionDeniedError",
    "PermissionExplanation",
    "PublishContext",
    "PublishedVersion",
    "QueryError",
    "Record",
    "RecordChange",
    "RecordError",
    "RecordPage",
    "RecordValidationError",
    "Revision",
    "RoleMappingError",
    "RuleFailure",
    "Service",
    "ServiceError",
    "UnsupportedDatabaseError",
    "WorkingCalendar",
    "check_app",
    "display_value",
    "load_app",
    "load_app_text",
    "parse_duration",
    "read_org_file",
    "read_org_text",
    "sqlite_file",
]
