"""Published forms ready for use, cached per process and kept current across processes.

A :class:`FormRuntime` pairs the store's side of a form version (tables, prepared
statements) with its compiled runtime (defaults, formulas, validations). Built once per
form version and kept in memory by the :class:`FormCatalog`, which also remembers the
generation number of each app's definitions: every transaction reads the generation
(engine/store/generations.py) and the catalog drops an app's forms when it moved, so a
publish in another process is seen by the next transaction here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.definitions.model import FieldDefinition, FormDefinition
from engine.errors import NotFoundError
from engine.runtime.forms import CompiledForm, compile_form
from engine.service.files import FileField, file_fields
from engine.store.database import Connection
from engine.store.form_tables import FormTables
from engine.store.forms import (
    StoredForm,
    build_stored_form,
    missing_form_message,
    published_version,
)
from engine.store.org import role_map


@dataclass(frozen=True)
class FormRuntime:
    """Everything the write and read paths need for one published form version."""

    stored: StoredForm
    compiled: CompiledForm
    #: attachment/image fields and columns, whose values the write path checks
    file_fields: tuple[FileField, ...]

    @property
    def app(self) -> str:
        return self.stored.app

    @property
    def key(self) -> str:
        return self.stored.key

    @property
    def version_no(self) -> int:
        return self.stored.version_no

    @property
    def definition(self) -> FormDefinition:
        return self.stored.definition

    @property
    def tables(self) -> FormTables:
        return self.stored.tables

    @property
    def serial_fields(self) -> tuple[FieldDefinition, ...]:
        return self.stored.serial_fields


def build_runtime(app: str, version_no: int, form: FormDefinition) -> FormRuntime:
    """Compile a form version once: tables, statements and runtime."""
    return FormRuntime(
        build_stored_form(app, version_no, form), compile_form(form), file_fields(form)
    )


class FormCatalog:
    """(app, form) -> FormRuntime of the published version, and each app's generation."""

    def __init__(self) -> None:
        self._runtimes: dict[tuple[str, str], FormRuntime] = {}
        self._role_maps: dict[str, dict[str, tuple[str, bool]]] = {}
        self._generations: dict[str, int] = {}
        #: other per-app definitions (flows), dropped with the forms
        self._extras: dict[tuple[str, str], Any] = {}
        #: task id -> (instance id, app) of flow tasks this service wrote (they never move)
        self.task_homes: dict[int, tuple[int, str]] = {}
        self._lock = threading.Lock()

    def knows(self, app: str) -> bool:
        """Whether the generation of ``app``'s cached definitions is known."""
        return app in self._generations

    def observe(self, app: str, generation: int) -> bool:
        """Note the app's generation as read in a transaction; False when it moved.

        When it moved, the app's cached forms are dropped (they are rebuilt on next use).
        """
        if self._generations.get(app) == generation:
            return True
        with self._lock:
            known = self._generations.get(app)
            for key in [k for k in self._runtimes if k[0] == app]:
                del self._runtimes[key]
            self._role_maps.pop(app, None)
            self._drop_extras(app)
            self._generations[app] = generation
        return known is None

    def _drop_extras(self, app: str) -> None:
        for key in [k for k in self._extras if k[0] == app]:
            del self._extras[key]

    def extra(
        self, conn: Connection, app: str, name: str, load: Callable[[Connection], Any]
    ) -> Any:
        """Another per-app definition cached like the forms (``load(conn)`` on first use)."""
        found = self._extras.get((app, name))
        if found is None:
            found = load(conn)
            with self._lock:
                self._extras[(app, name)] = found
        return found

    def get(self, conn: Connection, app: str, form: str) -> FormRuntime:
        """The runtime of the published form, loaded on ``conn`` on first use.

        NotFoundError (naming the app's forms) when the form was never published.
        """
        runtime = self._runtimes.get((app, form))
        if runtime is not None:
            return runtime
        stored = published_version(conn, app, form)
        if stored is None:
            raise NotFoundError(missing_form_message(conn, app, form))
        runtime = build_runtime(app, stored.version_no, stored.definition)
        with self._lock:
            self._runtimes[(app, form)] = runtime
        return runtime

    def role_map(self, conn: Connection, app: str) -> dict[str, tuple[str, bool]]:
        """The app's role map (app role -> organisation role, admin), read on first use.

        Installing moves the app's generation, which drops it with the forms.
        """
        cached = self._role_maps.get(app)
        if cached is None:
            cached = role_map(conn, app)
            with self._lock:
                self._role_maps[app] = cached
        return cached

    def forget(self, app: str) -> None:
        """Drop an app's cached forms and generation (after a publish in this process)."""
        with self._lock:
            for key in [k for k in self._runtimes if k[0] == app]:
                del self._runtimes[key]
            self._role_maps.pop(app, None)
            self._drop_extras(app)
            self._generations.pop(app, None)

    def clear(self) -> None:
        """Drop everything (the next transaction of each app re-reads its generation)."""
        with self._lock:
            self._runtimes.clear()
            self._role_maps.clear()
            self._extras.clear()
            self._generations.clear()
