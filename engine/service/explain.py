"""``permissions explain``: what one person may do with one form, and which grants say so.

Answers an admin's question "why can (or can't) li.ming see this?" with the decision the
record source itself makes: the same :class:`~engine.service.permissions.Access`, and
for a given record the same SQL scope, one action and one grant at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.definitions.permissions import ACTIONS, Grant
from engine.errors import NotFoundError, PermissionDeniedError
from engine.org.principal import Principal
from engine.service.actor import Actor
from engine.service.permissions import Access, access_of, describe
from engine.service.principals import PrincipalCache
from engine.service.transactions import Transaction
from engine.store.row_scopes import GrantedScope


@dataclass(frozen=True)
class ActionVerdict:
    """One action: allowed at all, over which rows, through which app roles."""

    action: str
    allowed: bool
    rows: str
    roles: tuple[str, ...]
    #: with a record: whether it lies in this action's scope, and the roles whose rules admit it
    record_in_scope: bool | None = None
    admitted_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class PermissionExplanation:
    """What :meth:`Service.explain_permissions` found."""

    app: str
    form: str
    principal: Principal
    admin: bool
    open_form: bool
    roles: tuple[str, ...]
    actions: tuple[ActionVerdict, ...]
    hidden: tuple[str, ...]
    readonly: tuple[str, ...]
    record_id: int | None = None
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The explanation as lines a person reads (the CLI prints this)."""
        who = self.principal
        kind = "dealer user" if who.is_external else "internal user"
        lines = [f"{who.login} ({who.name}, {kind}) on {self.app}.{self.form}"]
        facts = []
        if who.department:
            facts.append(f"departments {', '.join(who.departments)}")
        if who.regions:
            facts.append(f"regions {', '.join(who.regions)}")
        if who.dealer:
            facts.append(f"dealer {who.dealer}")
        facts.append(f"organisation roles {', '.join(sorted(who.roles)) or 'none'}")
        lines.append("  " + "; ".join(facts))
        lines.append(f"  app roles held: {', '.join(self.roles) or 'none'}")
        lines.extend(f"  {note}" for note in self.notes)
        for verdict in self.actions:
            if verdict.allowed:
                why = f"via {', '.join(verdict.roles)}" if verdict.roles else ""
                line = f"  {verdict.action:<7} yes  rows: {verdict.rows} {why}".rstrip()
            else:
                line = f"  {verdict.action:<7} no"
            if verdict.record_in_scope is not None and verdict.allowed:
                admitted = (
                    f" (admitted by {', '.join(verdict.admitted_by)})"
                    if verdict.admitted_by
                    else ""
                )
                state = (
                    "in scope" if verdict.record_in_scope else "NOT in scope (reads as not found)"
                )
                line += f"; record #{self.record_id} {state}{admitted}"
            lines.append(line)
        lines.append(f"  hidden fields: {', '.join(self.hidden) or 'none'}")
        lines.append(f"  read-only fields (update): {', '.join(self.readonly) or 'none'}")
        return "\n".join(lines)


def explain(
    tx: Transaction,
    principals: PrincipalCache,
    actor: Actor,
    form_key: str,
    login: str,
    record_id: int | None,
) -> PermissionExplanation:
    """The explanation for ``login``; admins may ask about anyone, others about themselves."""
    asking = principals.resolve(tx.conn, actor)
    if not asking.is_admin and asking.login != login:
        raise PermissionDeniedError(
            f"{asking.login} may only ask about their own permissions (admins about anyone's)"
        )
    subject = principals.resolve(tx.conn, Actor(login))
    if not subject.known and asking.known:
        raise NotFoundError(f"the organisation has no user {login}")
    runtime = tx.form(form_key)
    form = runtime.definition
    access = access_of(
        subject,
        tx.app,
        tx.catalog.role_map(tx.conn, tx.app),
        lambda key: tx.form(key).definition,
    )
    found = describe(access, form)
    notes = []
    if not subject.active:
        notes.append("the user is disabled: every call is refused whatever the grants say")
    if access.admin:
        notes.append("administers the app: every action on every row and field")
    elif access.open(form):
        notes.append(
            "the form declares no permissions: open to internal users, closed to dealer users"
        )
    verdicts = []
    for action in ACTIONS:
        entry = found["actions"][action]
        in_scope: bool | None = None
        admitted: tuple[str, ...] = ()
        if record_id is not None and entry["allowed"]:
            in_scope = _in_scope(tx, access, form_key, record_id, access.scope(form_key, action))
            admitted = tuple(
                g.role
                for g in access.grants(form, action)
                if _in_scope(tx, access, form_key, record_id, _grant_scope(access, form_key, g))
            )
        verdicts.append(
            ActionVerdict(
                action,
                entry["allowed"],
                entry["rows"],
                tuple(entry["because"]),
                in_scope,
                admitted,
            )
        )
    return PermissionExplanation(
        tx.app,
        form_key,
        subject,
        access.admin,
        access.open(form),
        tuple(found["roles"]),
        tuple(verdicts),
        tuple(found["hidden"]),
        tuple(found["readonly"]),
        record_id,
        notes,
    )


def _grant_scope(access: Access, form_key: str, grant: Grant) -> GrantedScope:
    """The rows of one grant alone (on ``form_key``; other forms as the person reads them)."""

    def rules_of(form: Any) -> Any:
        if form.key != form_key:
            return access.rules(form, "read")
        return None if grant.all_rows else grant.rows

    return GrantedScope(access.principal, rules_of, access.hidden)


def _in_scope(tx: Transaction, access: Access, form_key: str, record_id: int, scope: Any) -> bool:
    try:
        tx.source(form_key, scope).row(record_id)
    except NotFoundError:
        return False
    return True
