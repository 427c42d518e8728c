"""Values the service returns: records, pages, revisions, installed apps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.definitions.model import I18nText
from engine.store.publish import PublishedVersion


@dataclass
class Record:
    """One record of a form as the service returns it.

    ``values`` maps field key -> Python value (Decimal, date, aware datetime...);
    sub-tables are lists of row dicts with ``id``. Records from ``query_records`` leave
    sub-tables out unless asked for (a list rarely needs them).
    """

    app: str
    form: str
    id: int
    version: int
    status: str
    title: str | None
    values: dict[str, Any]
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    #: the JSON form of ``values`` when already made (see :attr:`json_values`)
    _json: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    #: how to make it from ``values`` (the form's field types), on first use
    _json_of: Callable[[dict[str, Any]], dict[str, Any]] | None = field(
        default=None, repr=False, compare=False
    )
    #: display names of organisation values (user, department, region and dealer fields):
    #: field key -> name, or a list of names for ``many`` fields (unknown codes as written)
    names: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def json_values(self) -> dict[str, Any]:
        """``values`` as JSON data (Decimal as text, dates ISO...), made on first use.

        A page of records is often only shown, never serialised: the conversion waits.
        """
        if self._json is None:
            self._json = self._json_of(self.values) if self._json_of is not None else {}
        return self._json

    def to_json(self) -> dict[str, Any]:
        """The record as JSON data (for the REST API, exports and templates)."""
        return {
            "app": self.app,
            "form": self.form,
            "id": self.id,
            "version": self.version,
            "status": self.status,
            "title": self.title,
            "values": self.json_values,
            "names": self.names,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "updated_at": self.updated_at.isoformat(),
            "updated_by": self.updated_by,
        }


@dataclass(frozen=True)
class RecordPage:
    """One page of a query; ``total`` is None when the count was not asked for."""

    items: list[Record]
    total: int | None
    page: int
    page_size: int


@dataclass(frozen=True)
class Revision:
    """One saved state of a record: full snapshot, diff to the previous one, who and when."""

    revision_no: int
    action: str
    data: dict[str, Any]
    changes: dict[str, Any]
    actor: str
    at: datetime


@dataclass(frozen=True)
class InstalledApp:
    """An installed app as recorded in the ``apps`` table."""

    key: str
    version: str
    name: I18nText
    content_hash: str
    installed_at: datetime
    installed_by: str
    forms: tuple[str, ...]


@dataclass(frozen=True)
class InstallReport:
    """What ``install_app`` did: versions before and after, and each form's publish."""

    app: str
    version: str
    previous_version: str | None
    forms: tuple[PublishedVersion, ...]

    @property
    def changed(self) -> bool:
        return any(f.changed for f in self.forms)

    def summary(self) -> str:
        """One line per form, for the CLI and logs."""
        before = f"{self.previous_version} -> " if self.previous_version else ""
        lines = [f"app {self.app} {before}{self.version}"]
        for form in self.forms:
            state = f"published v{form.version_no}" if form.changed else "unchanged"
            lines.append(f"  {form.form}: {state}")
            lines.extend(f"    warning: {failure.describe()}" for failure in form.data_check)
        return "\n".join(lines)
