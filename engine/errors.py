"""The engine's two families of errors, each carrying its place.

* :class:`DefinitionError` - an app's YAML is wrong. It names the file, line, column and
  the path inside the document, so ``str(error)`` is already a useful log line:
  ``forms/order.yaml:23:7 fields.qty.min: expected a number``.
* :class:`RecordError` - submitted data is wrong. It names the field key, the row of a
  sub-table when there is one, and a message a person can act on.

Loaders and validators collect every error they find and raise them together
(:class:`DefinitionErrors`, :class:`RecordValidationError`), never just the first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DefinitionError:
    """One mistake in a definition file, located to the character."""

    file: str
    line: int
    column: int
    path: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        text = f"{where} {self.path}: {self.message}" if self.path else f"{where} {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.column, self.path)


class DefinitionErrors(Exception):
    """Raised by loaders with every error of the files they read, in file/line order."""

    def __init__(self, errors: Iterable[DefinitionError]):
        self.errors: list[DefinitionError] = sorted(errors, key=DefinitionError.sort_key)
        super().__init__("\n".join(str(e) for e in self.errors))


@dataclass(frozen=True)
class RecordError:
    """One problem with submitted record data.

    ``field`` is the field key (``lines.qty`` for a sub-table column), ``row`` the
    sub-table row when the problem is inside one, counted from 1 as people count (the
    first row is 1; ``str()`` reads ``lines[2].amount: ...``), ``code`` a stable machine
    name (``required``, ``type``, ``min``, ``unique``, ``validation``, ``budget``...).
    A record-level problem (``budget``) has neither field nor row.
    """

    field: str | None
    message: str
    code: str = "invalid"
    row: int | None = None

    def __str__(self) -> str:
        where = self.field or "record"
        if self.row is not None:
            head, _, tail = where.partition(".")
            where = f"{head}[{self.row}].{tail}" if tail else f"{head}[{self.row}]"
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "row": self.row, "code": self.code, "message": self.message}


class RecordValidationError(Exception):
    """Raised with every :class:`RecordError` found in one submission; nothing was written."""

    def __init__(self, errors: Iterable[RecordError]):
        self.errors: list[RecordError] = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


@dataclass
class ExpressionError(Exception):
    """An expression that cannot be compiled or evaluated.

    ``column`` is 1-based inside the expression text when known, so a loader can turn it
    into a file position.
    """

    message: str
    column: int | None = None
    hint: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class ServiceError(Exception):
    """Base of errors raised by the service facade for a caller to show as-is."""


class InvalidArgumentError(ServiceError):
    """An argument of a service call has the wrong type, size or encoding; nothing was done.

    ``argument`` names it (``record_id``, ``filters[0].field``), ``given`` is a short,
    printable rendering of what was passed, ``expected`` what is accepted, and ``code``
    a stable machine name (``type``, ``range``, ``nul``, ``surrogate``, ``too_long``...).
    The message, in the actor's language, says all three.
    """

    def __init__(
        self, message: str, *, argument: str, given: str = "", expected: str = "", code: str = ""
    ):
        super().__init__(message)
        self.message = message
        self.argument = argument
        self.given = given
        self.expected = expected
        self.code = code


class NotFoundError(ServiceError):
    """An app, form or record that does not exist (or that the actor may not see)."""


class ConflictError(ServiceError):
    """A concurrent change won: reload and try again."""


class FlowActionError(ConflictError):
    """A flow action that the instance's or task's state does not allow (already handled,
    not running, comment missing...). ``code`` is a stable machine name."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


class PermissionDeniedError(ServiceError):
    """The actor may not do this."""


class UnsupportedDatabaseError(ServiceError):
    """The database is neither SQLite nor PostgreSQL, the two the engine is built and tested on."""


class MigrationError(ServiceError):
    """A form change would lose or corrupt data; nothing was changed."""


class DataCheckError(MigrationError):
    """Existing records break a new or stricter rule of a form being published.

    Raised by a strict publish or install (and by any publish of a unique rule whose
    values already repeat, which the database could not enforce); ``failures`` holds
    one entry per rule with the ids of the records that break it. Nothing was changed.
    """

    def __init__(self, message: str, failures: Iterable[Any]):
        self.failures: list[Any] = list(failures)
        super().__init__(message)


class BatchValidationError(RecordValidationError):
    """Some items of a batch of new records are invalid; none of the batch was saved.

    ``items`` maps the 1-based item number to that item's errors; ``errors`` holds
    them all, in item order, like a :class:`RecordValidationError`.
    """

    def __init__(self, items: Iterable[tuple[int, Iterable[RecordError]]]):
        self.items: dict[int, list[RecordError]] = {n: list(errs) for n, errs in items}
        super().__init__([e for errs in self.items.values() for e in errs])
        Exception.__init__(
            self,
            "; ".join(
                f"item {n}: " + ", ".join(str(e) for e in errs) for n, errs in self.items.items()
            ),
        )


class EngineSchemaError(ServiceError):
    """The engine tables are in a state this version of the engine cannot upgrade."""


class DefinitionFormatError(ServiceError):
    """A stored definition uses a format this version of the engine cannot read."""


@dataclass(frozen=True)
class OrgFileProblem:
    """One mistake in an organisation file, with its place.

    ``where`` is ``org.yaml:12:5 users[3].dealer`` for YAML and
    ``sheet 'users' row 7 column 'dealer'`` for an xlsx workbook.
    """

    where: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text} ({self.hint})" if self.hint else text


class OrgFileError(ServiceError):
    """An organisation file (YAML or xlsx) with problems; ``problems`` lists every one.

    ``str()`` is one line per problem; nothing was loaded.
    """

    def __init__(self, file: str, problems: Iterable[OrgFileProblem]):
        self.file = file
        self.problems: list[OrgFileProblem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
