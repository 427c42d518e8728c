"""Who may do what: the one place an actor becomes actions, row scopes and field access.

Every read of form rows goes through the store's record source with a scope made here;
every write asks here first. The rules (docs/permissions.md):

- A form's ``permissions`` grant actions (create, read, update, delete, export, import)
  to app roles, each over a set of rows (row rules, their union) and with fields hidden
  or read-only. Deny unless granted; a person holding several roles gets the union.
- App roles map to organisation roles at install (``app_role_map``); an app role marked
  ``admin`` and the organisation's ``admin`` role do everything with every row.
- A form without a ``permissions`` section (an app that declares none: the loader
  refuses half-guarded apps) is open to the brand's internal users and closed to
  dealers' (external) users.
- Out of scope reads as not found. Hidden fields never leave the service; filters, sort
  and search treat them as absent, and a title showing one is rendered without it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.definitions.model import FormDefinition
from engine.definitions.permissions import ACTIONS, Grant, RowRule
from engine.definitions.text_templates import template_names
from engine.errors import PermissionDeniedError
from engine.org.principal import Principal
from engine.store.row_scopes import GrantedScope

#: hidden_fields() holds this pseudo key when the record's title shows a hidden field
TITLE = "title"


@dataclass
class Access:
    """What one principal may do in one app (built per call, cheap)."""

    principal: Principal
    app: str
    #: the app roles the principal holds (through the app's role map)
    roles: frozenset[str]
    #: the principal administers the app (organisation admin, or an admin app role)
    admin: bool
    #: form key -> its published definition (to judge the targets of relations)
    form_of: Callable[[str], FormDefinition] | None = None
    #: prepared statements kept until the organisation changes (OrgCache.statements)
    statements: dict[tuple[Any, ...], Any] | None = None
    #: the organisation generation the principal was read at (part of cache keys)
    generation: int = 0
    _hidden: dict[tuple[str, int, str], frozenset[str]] = field(default_factory=dict, repr=False)

    # -- grants --------------------------------------------------------------------------
    def grants(self, form: FormDefinition, action: str) -> list[Grant]:
        """The grants of the principal's roles on ``form`` allowing ``action``."""
        return [g for g in form.permissions if g.role in self.roles and g.allows(action)]

    def open(self, form: FormDefinition) -> bool:
        """A form without permissions: open to internal users."""
        return not form.permissions

    def allows(self, form: FormDefinition, action: str) -> bool:
        """Whether the principal may do ``action`` on some rows of ``form``."""
        if self.admin:
            return True
        if self.open(form):
            return not self.principal.is_external
        return bool(self.grants(form, action))

    def rules(self, form: FormDefinition, action: str) -> tuple[RowRule, ...] | None:
        """Row rules whose union the principal may ``action``; None: every row; (): none."""
        if self.admin:
            return None
        if self.open(form):
            return () if self.principal.is_external else None
        grants = self.grants(form, action)
        if any(g.all_rows for g in grants):
            return None
        return tuple(rule for g in grants for rule in g.rows)

    # -- fields --------------------------------------------------------------------------
    def hidden(self, form: FormDefinition, action: str = "read") -> frozenset[str]:
        """Fields of ``form`` the principal may not see when they ``action`` it.

        A field is hidden when every grant of the action hides it (grants combine as a
        union: one role that shows it is enough). ``title`` is added when the record's
        title shows a hidden field, or a related record the principal may not read
        every row of (the stored title was rendered for whoever saved it).
        """
        key = (form.key, id(form), action)
        cached = self._hidden.get(key)
        if cached is not None:
            return cached
        # the answer depends on the form, the action and what this principal holds, not
        # on who they are: kept until the organisation changes (the form is kept with it
        # so that its id is never another form's)
        shared = ("hidden", self.app, self.roles, self.admin, self.principal.is_external, *key)
        if self.statements is not None:
            found = self.statements.get(shared)
            if found is not None and found[0] is form:
                self._hidden[key] = found[1]
                return found[1]
        hidden: frozenset[str] = frozenset()
        if not self.admin and not self.open(form):
            grants = self.grants(form, action)
            if grants:
                hidden = frozenset.intersection(*(frozenset(g.hidden) for g in grants))
        shown = title_fields(form)
        if shown & hidden or any(self._restricted(form, key) for key in shown):
            hidden = hidden | {TITLE}
        self._hidden[key] = hidden
        if self.statements is not None:
            self.statements[shared] = (form, hidden)
        return hidden

    def _restricted(self, form: FormDefinition, key: str) -> bool:
        """Whether a relation field's target has rows the principal may not read."""
        if self.form_of is None or not form.has_field(key):
            return False
        field_def = form.field(key)
        if field_def.type != "relation":
            return False
        try:
            target = self.form_of(field_def.option("to"))
        except Exception:  # a target that is not published reads as restricted
            return True
        return self.rules(target, "read") is not None

    def readonly(self, form: FormDefinition, action: str) -> frozenset[str]:
        """Fields the principal may not write with ``action`` (create or update).

        Read-only or hidden in every grant allowing the action; hidden fields always.
        """
        if self.admin or self.open(form):
            return frozenset()
        grants = self.grants(form, action)
        if not grants:
            return frozenset(f.key for f in form.fields)
        locked = frozenset.intersection(
            *(frozenset(g.hidden) | frozenset(g.readonly) for g in grants)
        )
        return locked | (self.hidden(form) - {TITLE})

    # -- scopes --------------------------------------------------------------------------
    def scope(self, form_key: str, action: str = "read") -> GrantedScope:
        """The record source scope: ``action`` on ``form_key``, read on related forms."""

        def rules_of(form: FormDefinition) -> tuple[RowRule, ...] | None:
            return self.rules(form, action if form.key == form_key else "read")

        def hidden_of(form: FormDefinition) -> frozenset[str]:
            return self.hidden(form, action if form.key == form_key else "read")

        known = self.principal.known and self.statements is not None
        # what the conditions depend on: who, their app roles (the role map), form, action
        identity = (
            (
                self.principal.login,
                self.generation,
                self.app,
                self.roles,
                self.admin,
                form_key,
                action,
            )
            if known
            else None
        )
        return GrantedScope(self.principal, rules_of, hidden_of, self.statements, identity)

    def require(self, form: FormDefinition, action: str, locale: str) -> None:
        """Refuse (PermissionDeniedError) when the principal may not ``action`` the form."""
        if not self.allows(form, action):
            raise PermissionDeniedError(denied_message(self.principal, form, action, locale))


def title_fields(form: FormDefinition) -> frozenset[str]:
    """The fields a record's title may show."""
    if form.title:
        return template_names(form.title)
    return frozenset(f.key for f in form.fields if f.type == "text")


ACTION_NAMES_ZH = {
    "create": "新建",
    "read": "查看",
    "update": "修改",
    "delete": "删除",
    "export": "导出",
    "import": "导入",
}


def denied_message(principal: Principal, form: FormDefinition, action: str, locale: str) -> str:
    """'zhang.wei may not export purchase_request' in the actor's language."""
    if locale.startswith("en"):
        return (
            f"{principal.login} may not {action} records of {form.key}: no role of theirs "
            "grants it (see `lowcode permissions explain`)"
        )
    return f"{principal.login} 没有{ACTION_NAMES_ZH.get(action, action)}「{form.name.zh_cn}」数据的权限"


def access_of(
    principal: Principal,
    app: str,
    role_map: dict[str, tuple[str, bool]],
    form_of: Callable[[str], FormDefinition] | None = None,
    statements: dict[tuple[Any, ...], Any] | None = None,
    generation: int = 0,
) -> Access:
    """The principal's access to ``app`` through the app's role map.

    An app role without a map row is held by members of the organisation role with the
    same code (apps installed before role maps existed, databases without roles).
    """
    held = {role for role, (org_role, _admin) in role_map.items() if org_role in principal.roles}
    held |= {role for role in principal.roles if role not in role_map}
    admin = principal.is_admin or any(role_map[r][1] for r in held if r in role_map)
    return Access(principal, app, frozenset(held), admin, form_of, statements, generation)


def describe(access: Access, form: FormDefinition) -> dict[str, Any]:
    """What the principal may do with ``form`` and why (``lowcode permissions explain``)."""
    actions: dict[str, Any] = {}
    for action in ACTIONS:
        grants = access.grants(form, action)
        actions[action] = {
            "allowed": access.allows(form, action),
            "rows": _rows_text(access.rules(form, action)),
            "because": [g.role for g in grants],
        }
    return {
        "principal": access.principal,
        "admin": access.admin,
        "open": access.open(form),
        "roles": sorted(access.roles),
        "actions": actions,
        "hidden": sorted(access.hidden(form) - {TITLE}),
        "readonly": sorted(access.readonly(form, "update") - access.hidden(form)),
    }


def _rows_text(rules: tuple[RowRule, ...] | None) -> str:
    if rules is None:
        return "all"
    if not rules:
        return "none"
    parts = []
    for rule in rules:
        if rule.kind == "expr":
            parts.append(f"expr: {rule.expr}")
        elif rule.fields:
            parts.append(f"{rule.kind} ({', '.join(rule.fields)})")
        else:
            parts.append(rule.kind)
    return " or ".join(parts)
