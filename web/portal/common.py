"""What every portal view needs: the signed-in dealer user, their dealer, the forms the
app grants them, and a record's fields as they may see them.

Everything is asked of the service as the signed-in person: the rows come from the
store's scoped record source, the fields from the person's grants (hidden ones never
arrive), so no view filters rows or fields itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, g
from flask_login import current_user

from engine.service import Actor, ServiceError
from web.auth import actor, service
from web.text import display, label


def person() -> Any | None:
    """The signed-in person as the organisation knows them (kind, dealer), read once per
    request; None before signing in or when the organisation does not know them."""
    if not current_user.is_authenticated:
        return None
    if "portal_person" not in g:
        try:
            g.portal_person = service().org.user(actor(), current_user.id)
        except ServiceError:
            g.portal_person = None
    return g.portal_person


def is_external() -> bool:
    """Whether the signed-in person is a dealer's (external) user."""
    found = person()
    return found is not None and found.kind == "external"


def require_dealer_user() -> Actor:
    """The actor of a portal page: a signed-in dealer user, else 404 (the portal does not
    exist for staff, as internal pages do not for dealers)."""
    if not is_external():
        abort(404)
    return actor()


def waiting(me: Actor) -> dict[str, int | None]:
    """The person's pending tasks and unread messages, asked once per request (the home
    page and the tab bar both show them); None where the service refuses."""
    found = g.get("portal_waiting")
    if found is None:
        found = g.portal_waiting = {
            "tasks": count_of(
                lambda: service().flows.tasks(me, status="pending", page_size=1).total
            ),
            "unread": count_of(lambda: service().notifications.unread_count(me)),
        }
    return found


def count_of(read: Any) -> int | None:
    """A count, or None when the service refuses (the page then leaves it out)."""
    try:
        return int(read() or 0)
    except ServiceError:
        return None


def dealer_name(me: Actor) -> str:
    """The name of the person's dealer (their own dealer is always theirs to name)."""
    code = getattr(person(), "dealer", None)
    if not code:
        return ""
    try:
        return service().org_choices.names(me, "dealer", [code]).get(code, code)
    except ServiceError:
        return code


def order_form() -> tuple[str, str]:
    """(app, form) of the orders the portal features (``PORTAL_ORDER_FORM``, default
    ``orders/order``: examples/dealer_orders)."""
    app_key, _, form_key = str(
        current_app.config.get("PORTAL_ORDER_FORM", "orders/order")
    ).partition("/")
    return app_key, form_key


@dataclass(frozen=True)
class PortalForm:
    """A form the app grants the dealer user: its definition and what they may do."""

    app: str
    app_name: str
    definition: Any
    setup: Any

    @property
    def name(self) -> str:
        return label(self.definition.name)


def granted_forms(me: Actor) -> list[PortalForm]:
    """Every form of every installed app that the person may read (the service decides:
    a form without a read grant answers PermissionDeniedError and is left out)."""
    found = []
    try:
        apps = service().list_apps(me)
    except ServiceError:
        return []
    for app in apps:
        for form_key in app.forms:
            try:
                setup = service().saved_views.setup(me, app.key, form_key)
                definition = service().get_form(me, app.key, form_key)
            except ServiceError:
                continue
            found.append(PortalForm(app.key, label(app.name), definition, setup))
    return found


def granted_form(me: Actor, app_key: str, form_key: str) -> PortalForm:
    """One form the person may read, else 404."""
    try:
        setup = service().saved_views.setup(me, app_key, form_key)
        definition = service().get_form(me, app_key, form_key)
        app = service().get_app(me, app_key)
    except ServiceError:
        abort(404)
    return PortalForm(app_key, label(app.name), definition, setup)


def visible_fields(form: PortalForm, values: dict[str, Any]) -> list[Any]:
    """The form's fields the person sees that the record carries, in definition order."""
    seen = set(form.setup.fields)
    return [f for f in form.definition.fields if f.key in seen and f.key in values]


def relation_titles(me: Actor, app_key: str, definition: Any, rows: list[dict[str, Any]]) -> dict:
    """Titles of related records by field path then id, for the records' relation fields
    (only those the person may read: the service's scoped relation display)."""
    wanted: dict[str, set[int]] = {}
    for values in rows:
        for field in definition.fields:
            if field.type == "relation" and isinstance(values.get(field.key), int):
                wanted.setdefault(field.key, set()).add(values[field.key])
            if field.type == "subtable":
                for column in field.fields:
                    if column.type != "relation":
                        continue
                    for row in values.get(field.key) or []:
                        if isinstance(row.get(column.key), int):
                            path = f"{field.key}.{column.key}"
                            wanted.setdefault(path, set()).add(row[column.key])
    titles: dict[str, Any] = {}
    for path, ids in wanted.items():
        try:
            titles[path] = service().records.relation_display(
                me, app_key, definition.key, path, ids
            )
        except ServiceError:
            titles[path] = {}
    return titles


#: field types whose values are organisation codes, named by ``service.org_choices``
ORG_KINDS = ("user", "department", "region", "dealer")


def org_names(me: Actor, definition: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Names of the organisation codes a record's fields hold, for values that come
    without them (a task's view of its record): what the person may name."""
    names: dict[str, Any] = {}
    for field in definition.fields:
        code = values.get(field.key)
        if field.type not in ORG_KINDS or not isinstance(code, str) or not code:
            continue
        try:
            names[field.key] = service().org_choices.names(me, field.type, [code]).get(code)
        except ServiceError:
            continue
    return {k: v for k, v in names.items() if v}


def cell(field: Any, values: dict[str, Any], names: dict[str, Any], titles: dict) -> str:
    """One field's value as the portal shows it (option labels, names, titles, money)."""
    return display(field, values.get(field.key), names, titles.get(field.key))
