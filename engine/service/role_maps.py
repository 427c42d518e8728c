"""An app's roles mapped to the organisation's at install.

Each role of ``app.yaml`` is held by the members of one organisation role: the one
named by ``--map-role app_role=ORG_ROLE`` (a code or a role's name), else the one it
was mapped to before, else the organisation role with the same code. A role that a
permission grants to (or an admin role) with none of these is an install error naming
it and the roles there are, unless the organisation has no roles at all yet (a database
without an organisation: same codes). A declared role that nothing grants to is left
unmapped: it gives nobody anything.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.definitions.model import AppDefinition
from engine.errors import ServiceError
from engine.store.database import Connection
from engine.store.org import org_roles, role_map


class RoleMappingError(ServiceError):
    """App roles that map to no organisation role; nothing was installed."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("cannot install: " + "; ".join(problems))


def resolve_role_map(
    conn: Connection, app: AppDefinition, given: Mapping[str, str], locale: str
) -> dict[str, tuple[str, bool]]:
    """app role -> (organisation role, admin) for ``app``; RoleMappingError lists problems."""
    organisation = org_roles(conn)
    by_name: dict[str, list[str]] = {}
    for code, name in organisation.items():
        by_name.setdefault(name, []).append(code)
    before = role_map(conn, app.key)
    english = locale.startswith("en")
    problems: list[str] = []
    for role in sorted(set(given) - set(app.roles)):
        problems.append(
            f"--map-role {role}: the app has no role {role!r} (its roles: {', '.join(app.roles) or 'none'})"
            if english
            else f"--map-role {role}：应用没有角色 {role!r}（应用的角色：{'、'.join(app.roles) or '无'}）"
        )
    out: dict[str, tuple[str, bool]] = {}
    known = ", ".join(sorted(organisation)) or "none"
    used = {g.role for form in app.forms for g in form.permissions} | set(app.admin_roles)
    for role in app.roles:
        admin = role in app.admin_roles
        target: str | None = None
        if role in given:
            wanted = given[role]
            if wanted in organisation:
                target = wanted
            elif len(by_name.get(wanted, [])) == 1:
                target = by_name[wanted][0]
            else:
                problems.append(
                    f"--map-role {role}={wanted}: the organisation has no role {wanted!r} (roles: {known})"
                    if english
                    else f"--map-role {role}={wanted}：组织中没有角色 {wanted!r}（现有角色：{known}）"
                )
                continue
        elif role in before:
            target = before[role][0]
        elif role in organisation or not organisation:
            target = role
        elif role not in used:
            continue
        else:
            problems.append(
                f"the app role {role!r} maps to no organisation role: give --map-role {role}=ROLE "
                f"(roles: {known})"
                if english
                else f"应用角色 {role!r} 没有对应的组织角色：请用 --map-role {role}=角色 指定（现有角色：{known}）"
            )
            continue
        out[role] = (target, admin)
    if problems:
        raise RoleMappingError(problems)
    return out
