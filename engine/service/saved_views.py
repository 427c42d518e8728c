"""List views: each person's saved views of a form's list page, and what a list page
may offer them.

A saved view is a name and the list's settings: filters (the list page's query
parameters, ``{"f.total.from": ["100"]}``), search, sort, columns and page size. It
belongs to the person who saved it: every read and change is by its owner, and a view
of someone else reads as not found (the same answer as a view that does not exist), so
nobody can open, change or delete another person's view. One view per person and form
may be their default, which the list page opens when nothing else is asked for.

:meth:`SavedViewUseCases.setup` says which fields the actor may see on the form (the
columns and filters a list may offer: hidden fields never) and whether they may
create, update, delete and export its records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.errors import ConflictError, NotFoundError
from engine.service import arguments as check
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.org_arguments import invalid, localised
from engine.service.permissions import TITLE
from engine.store import saved_views as stored
from engine.store.limits import MAX_ID, check_text

#: what a view's settings may hold
SETTING_KEYS = ("filters", "search", "sort", "columns", "page_size")
MAX_VIEW_NAME = 100
MAX_FILTER_PARAMS = 50
MAX_FILTER_PARAM = 100
MAX_FILTER_VALUES = 50
MAX_FILTER_VALUE = 200
MAX_COLUMNS = 100
MAX_SEARCH = 200
MAX_SORT = 400
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class SavedView:
    """One person's saved view of a form's list."""

    id: int
    app: str
    form: str
    name: str
    settings: dict[str, Any]
    is_default: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ListSetup:
    """What a list page of a form may offer the actor."""

    #: keys of the top-level fields the actor may see, in the form's order
    fields: tuple[str, ...]
    may_create: bool
    may_update: bool
    may_delete: bool
    may_export: bool
    may_import: bool = False


def _view(row: stored.StoredView) -> SavedView:
    return SavedView(
        row.id,
        row.app,
        row.form,
        row.name,
        row.settings,
        row.is_default,
        row.created_at,
        row.updated_at,
    )


class SavedViewUseCases:
    """``service.saved_views``: saved list views per person, and a list page's setup."""

    def __init__(self, context: ServiceContext):
        self._context = context

    # -- what a list may offer ----------------------------------------------------------
    def setup(self, actor: Actor, app_key: str, form_key: str) -> ListSetup:
        """The fields the actor may see on the form and the actions they may take.

        PermissionDeniedError when they may not read the form at all.
        """
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        with self._context.transactions.read(app_key) as tx:
            definition = tx.form(form_key).definition
            access = tx.access(actor)
            access.require(definition, "read", locale)
            hidden = access.hidden(definition, "read") - {TITLE}
            return ListSetup(
                tuple(f.key for f in definition.fields if f.key not in hidden),
                access.allows(definition, "create"),
                access.allows(definition, "update"),
                access.allows(definition, "delete"),
                access.allows(definition, "export"),
                access.allows(definition, "import"),
            )

    # -- saved views --------------------------------------------------------------------
    def list(self, actor: Actor, app_key: str, form_key: str) -> list[SavedView]:
        """The actor's own views of the form, by name."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        with self._context.transactions.database.read() as conn:
            return [_view(v) for v in stored.list_views(conn, actor.user_id, app_key, form_key)]

    def get(self, actor: Actor, view_id: int) -> SavedView:
        """One of the actor's views; NotFoundError for a view that is not theirs."""
        locale = check.actor_locale(actor)
        view_id = check.check_whole_number("view_id", view_id, 1, MAX_ID, locale)
        with self._context.transactions.database.read() as conn:
            found = stored.get_view(conn, actor.user_id, view_id)
        if found is None:
            raise _no_view(view_id, locale)
        return _view(found)

    def default(self, actor: Actor, app_key: str, form_key: str) -> SavedView | None:
        """The actor's default view of the form, if they chose one."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        with self._context.transactions.database.read() as conn:
            found = stored.default_view(conn, actor.user_id, app_key, form_key)
        return None if found is None else _view(found)

    def create(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        name: str,
        settings: Mapping[str, Any],
        *,
        default: bool = False,
    ) -> SavedView:
        """Save a view of a form the actor may read; ConflictError when they already
        have a view of that name on the form."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        name = _name_argument(name, locale)
        clean = _settings_argument(settings, locale)
        check.check_flag("default", default, locale)
        self._require_read(actor, app_key, form_key, locale)
        with self._context.transactions.database.write() as conn:
            if stored.find_view(conn, actor.user_id, app_key, form_key, name) is not None:
                raise _taken(name, locale)
            view_id = stored.insert_view(
                conn,
                actor.user_id,
                app_key,
                form_key,
                name,
                clean,
                default,
                self._context.clock(),
            )
            found = stored.get_view(conn, actor.user_id, view_id)
        assert found is not None
        return _view(found)

    def update(
        self,
        actor: Actor,
        view_id: int,
        *,
        name: str | None = None,
        settings: Mapping[str, Any] | None = None,
        default: bool | None = None,
    ) -> SavedView:
        """Change one of the actor's views (what is given); NotFoundError for a view that
        is not theirs, ConflictError for a name another of their views has."""
        locale = check.actor_locale(actor)
        view_id = check.check_whole_number("view_id", view_id, 1, MAX_ID, locale)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = _name_argument(name, locale)
        if settings is not None:
            changes["settings"] = _settings_argument(settings, locale)
        if default is not None:
            changes["is_default"] = check.check_flag("default", default, locale)
        with self._context.transactions.database.write() as conn:
            found = stored.get_view(conn, actor.user_id, view_id)
            if found is None:
                raise _no_view(view_id, locale)
            if "name" in changes and changes["name"] != found.name:
                other = stored.find_view(
                    conn, actor.user_id, found.app, found.form, changes["name"]
                )
                if other is not None:
                    raise _taken(changes["name"], locale)
            if changes:
                stored.update_view(conn, found, changes, self._context.clock())
            found = stored.get_view(conn, actor.user_id, view_id)
        assert found is not None
        return _view(found)

    def delete(self, actor: Actor, view_id: int) -> None:
        """Remove one of the actor's views; NotFoundError for a view that is not theirs."""
        locale = check.actor_locale(actor)
        view_id = check.check_whole_number("view_id", view_id, 1, MAX_ID, locale)
        with self._context.transactions.database.write() as conn:
            if not stored.delete_view(conn, actor.user_id, view_id):
                raise _no_view(view_id, locale)

    # -- internals ----------------------------------------------------------------------
    def _require_read(self, actor: Actor, app_key: str, form_key: str, locale: str) -> None:
        with self._context.transactions.read(app_key) as tx:
            definition = tx.form(form_key).definition
            tx.access(actor).require(definition, "read", locale)


def _no_view(view_id: int, locale: str) -> NotFoundError:
    return NotFoundError(
        localised(locale, f"没有编号为 {view_id} 的视图", f"you have no saved view {view_id}")
    )


def _taken(name: str, locale: str) -> ConflictError:
    return ConflictError(
        localised(
            locale,
            f"已有名为「{name}」的视图：请换一个名称，或更新那个视图",
            f"you already have a view called {name!r}: choose another name or update that view",
        )
    )


def _name_argument(name: object, locale: str) -> str:
    """A view's name: text of 1 to MAX_VIEW_NAME characters (blanks around it dropped)."""
    if isinstance(name, str):
        check_text("name", name, MAX_VIEW_NAME, locale)
        if name.strip():
            return name.strip()
    raise invalid(
        "name",
        name,
        locale,
        f"视图名称（str，1 到 {MAX_VIEW_NAME} 个字符）",
        f"a view name (str, 1 to {MAX_VIEW_NAME} characters)",
    )


def _text_list(argument: str, value: object, limit: int, count: int, locale: str) -> list[str]:
    """A list of text (one text is a list of one)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or isinstance(value, bytes) or len(value) > count:
        raise invalid(
            argument,
            value,
            locale,
            f"文本列表（list[str]，最多 {count} 项）",
            f"a list of text (list[str], at most {count} items)",
        )
    for index, item in enumerate(value):
        check_text(f"{argument}[{index}]", item, limit, locale)
    return list(value)


def _settings_argument(settings: object, locale: str) -> dict[str, Any]:
    """A view's settings as plain JSON values, each part checked."""
    if not isinstance(settings, Mapping):
        raise invalid(
            "settings",
            settings,
            locale,
            f"设置（dict，键为 {', '.join(SETTING_KEYS)}）",
            f"settings (a dict with the keys {', '.join(SETTING_KEYS)})",
        )
    unknown = [k for k in settings if k not in SETTING_KEYS]
    if unknown:
        raise invalid(
            "settings",
            unknown[0],
            locale,
            f"设置的键之一：{', '.join(SETTING_KEYS)}",
            f"one of the settings keys {', '.join(SETTING_KEYS)}",
        )
    clean: dict[str, Any] = {}
    filters = settings.get("filters") or {}
    if not isinstance(filters, Mapping) or len(filters) > MAX_FILTER_PARAMS:
        raise invalid(
            "settings.filters",
            filters,
            locale,
            f"筛选条件（dict[str, list[str]]，最多 {MAX_FILTER_PARAMS} 个）",
            f"filters (dict[str, list[str]], at most {MAX_FILTER_PARAMS})",
        )
    clean["filters"] = {}
    for key, values in filters.items():
        check_text("settings.filters", key, MAX_FILTER_PARAM, locale)
        clean["filters"][key] = _text_list(
            f"settings.filters[{key!r}]", values, MAX_FILTER_VALUE, MAX_FILTER_VALUES, locale
        )
    for key, limit in (("search", MAX_SEARCH), ("sort", MAX_SORT)):
        value = settings.get(key)
        if value is not None:
            check_text(f"settings.{key}", value, limit, locale)
        clean[key] = value or None
    columns = settings.get("columns")
    if columns is not None:
        columns = _text_list("settings.columns", columns, 64, MAX_COLUMNS, locale)
        for index, key in enumerate(columns):
            check.check_key(f"settings.columns[{index}]", key, 64, locale)
    clean["columns"] = columns
    page_size = settings.get("page_size")
    if page_size is not None:
        page_size = check.check_whole_number(
            "settings.page_size", page_size, 1, MAX_PAGE_SIZE, locale
        )
    clean["page_size"] = page_size
    return clean
