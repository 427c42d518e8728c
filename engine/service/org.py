"""The organisation: load a file, manage users and API tokens, sign in, find managers.

Every method but the two sign-ins (:meth:`OrgUseCases.authenticate`,
:meth:`OrgUseCases.actor_for_token`) takes the acting :class:`Actor` first, checks its
arguments before any work (InvalidArgumentError) and refuses anyone but an
administrator (PermissionDeniedError): a member of the organisation role ``admin``, the
system, or, while the organisation does not know the actor, an actor claiming the
``admin`` role. Reads of one user (:meth:`user`, :meth:`list_tokens`, :meth:`managers`,
:meth:`managers_up_to`) are also open to that user.

Every change runs in one transaction with its audit entry (``audit_log``, form ``org``,
the action and what changed: never a password, a hash or a token) and moves the
organisation's generation on, so every process drops the principals it resolved.
A call that changes nothing (loading the same file again, disabling a disabled user)
writes neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.errors import ConflictError, InvalidArgumentError, NotFoundError, PermissionDeniedError
from engine.org import passwords
from engine.org.org_file import CODE, LOCALES, MAX_CODE, OrgSnapshot
from engine.org.principal import ADMIN_ROLE, INTERNAL, KINDS, Principal
from engine.org.tokens import looks_like_token, new_token, token_digest
from engine.service import arguments as check
from engine.service.actor import SYSTEM_ACTOR, Actor
from engine.service.context import ServiceContext
from engine.service.org_arguments import (
    check_kind,
    code_argument,
    codes_argument,
    invalid,
    localised,
    no_user,
    optional_code_argument,
    optional_text_argument,
    password_argument,
    secret_argument,
    text_argument,
)
from engine.service.principals import require_active
from engine.store import org_lists, org_managers, org_people, org_sessions, org_tokens, org_writes
from engine.store.database import Connection
from engine.store.journal import Journal, Subject
from engine.store.limits import check_text
from engine.store.messages import shorten
from engine.store.org import bump_org_generation, has_people, principal_facts
from engine.store.org_writes import LoadSummary

#: the subject of every audit entry of the organisation
ORG_SUBJECT = Subject(None, "org")
#: the user ``lowcode init`` creates in an empty organisation
DEFAULT_ADMIN = "admin"
_UNSET: Any = object()


@dataclass(frozen=True)
class OrgUser:
    """A user's public fields (never the password hash)."""

    login: str
    name: str
    kind: str
    active: bool
    locale: str
    email: str | None
    mobile: str | None
    #: the main department, and every department with the main one first
    department: str | None
    departments: tuple[str, ...]
    leader: str | None
    region: str | None
    dealer: str | None
    roles: tuple[str, ...]
    has_password: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ApiToken:
    """An API token as lists show it: its display prefix, never the secret or its hash."""

    id: int
    login: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class OrgUserRow:
    """A user as the admin list shows them (never the password hash)."""

    login: str
    name: str
    kind: str
    active: bool
    department: str | None
    dealer: str | None
    region: str | None
    has_password: bool
    roles: tuple[str, ...]


@dataclass(frozen=True)
class OrgUserPage:
    """One page of users and how many match in all."""

    items: list[OrgUserRow]
    total: int
    page: int
    page_size: int


@dataclass(frozen=True)
class OrgNode:
    """A department, region or dealer in its tree: ``depth`` 0 is a root.

    ``managers`` for departments and regions, ``people`` the users whose main department
    it is, ``users`` a dealer's people; ``level``, ``region``, ``sales_rep`` and
    ``active`` where the kind has them.
    """

    code: str
    name: str
    parent: str | None
    depth: int
    managers: tuple[str, ...] = ()
    people: int = 0
    users: tuple[str, ...] = ()
    level: str | None = None
    region: str | None = None
    sales_rep: str | None = None
    active: bool = True


@dataclass(frozen=True)
class OrgRole:
    code: str
    name: str
    members: tuple[str, ...]


class OrgUseCases:
    """The organisation operations of one Service (each call is one transaction)."""

    def __init__(self, context: ServiceContext):
        self._context = context

    # -- loading ------------------------------------------------------------------------
    def load(self, actor: Actor, snapshot: OrgSnapshot) -> LoadSummary:
        """Make the organisation say what ``snapshot`` says (see engine/store/org_writes.py).

        Entities absent from the snapshot are left alone; loading the same snapshot
        twice changes nothing the second time (no audit entry, same generation).
        """
        locale = check.actor_locale(actor)
        if not isinstance(snapshot, OrgSnapshot):
            raise invalid("snapshot", snapshot, locale, "一个 OrgSnapshot", "an OrgSnapshot")
        with self._write(actor) as (conn, journal):
            self._require_admin(conn, actor, locale)
            summary = org_writes.apply_snapshot(conn, snapshot, journal.at)
            if summary.changed:
                self._changed(conn, journal, "org.load", {"summary": summary.as_dict()})
        return summary

    def ensure_admin(self, actor: Actor) -> bool:
        """Create the user ``admin`` (role ``admin``, no password) in an empty organisation.

        True when it was created; False when the organisation already has users.
        """
        locale = check.actor_locale(actor)
        with self._write(actor) as (conn, journal):
            self._require_admin(conn, actor, locale)
            if has_people(conn):
                return False
            org_people.ensure_role(conn, ADMIN_ROLE, "管理员")
            org_people.insert_user(conn, {"login": DEFAULT_ADMIN, "name": "管理员"}, journal.at)
            org_people.add_role_member(conn, ADMIN_ROLE, DEFAULT_ADMIN)
            detail = {"login": DEFAULT_ADMIN, "kind": INTERNAL, "roles": [ADMIN_ROLE]}
            self._changed(conn, journal, "user.create", detail)
        return True

    # -- users --------------------------------------------------------------------------
    def create_user(
        self,
        actor: Actor,
        login: str,
        name: str,
        *,
        kind: str = INTERNAL,
        email: str | None = None,
        mobile: str | None = None,
        locale: str = "zh-CN",
        department: str | None = None,
        dealer: str | None = None,
        password: str | None = None,
        roles: Iterable[str] = (),
        password_must_change: bool = False,
    ) -> OrgUser:
        """A new user; ConflictError when the login is taken.

        An external user (a dealer's person) needs a dealer and has no department; an
        internal user has no dealer. The department, dealer and roles must exist (the
        role ``admin`` is created when missing). Without a password the user cannot
        sign in until one is set; with ``password_must_change`` (a password the admin
        generated) they must choose their own at the next sign-in.
        """
        say = check.actor_locale(actor)
        must_change = check.check_flag("password_must_change", password_must_change, say)
        code_argument("login", login, say)
        text_argument("name", name, 100, say)
        check.check_choice("kind", kind, KINDS, say)
        optional_text_argument("email", email, 254, say)
        optional_text_argument("mobile", mobile, 20, say)
        check.check_choice("locale", locale, LOCALES, say)
        optional_code_argument("department", department, say)
        optional_code_argument("dealer", dealer, say)
        role_list = codes_argument("roles", roles, say)
        check_kind(kind, dealer, department, say)
        hashed = (
            None if password is None else passwords.hash_password(password_argument(password, say))
        )
        with self._write(actor) as (conn, journal):
            self._require_admin(conn, actor, say)
            if org_people.exists(conn, "user", login):
                raise ConflictError(
                    localised(say, f"用户 {login} 已存在", f"the user {login} exists already")
                )
            self._require(conn, say, department=department, dealer=dealer)
            if ADMIN_ROLE in role_list:
                org_people.ensure_role(conn, ADMIN_ROLE, "管理员")
            self._require(conn, say, roles=role_list)
            values = {
                "login": login,
                "name": name.strip(),
                "kind": kind,
                "email": email,
                "mobile": mobile,
                "locale": locale,
                "department": department,
                "dealer": dealer,
                "password_hash": hashed,
                "password_must_change": must_change and hashed is not None,
            }
            org_people.insert_user(conn, values, journal.at)
            for role in role_list:
                org_people.add_role_member(conn, role, login)
            detail = {
                "login": login,
                "name": values["name"],
                "kind": kind,
                "department": department,
                "dealer": dealer,
                "roles": role_list,
                "password_set": hashed is not None,
            }
            self._changed(conn, journal, "user.create", detail)
            return _user(conn, login)

    def update_user(
        self,
        actor: Actor,
        login: str,
        *,
        name: str = _UNSET,
        kind: str = _UNSET,
        email: str | None = _UNSET,
        mobile: str | None = _UNSET,
        locale: str = _UNSET,
        department: str | None = _UNSET,
        leader: str | None = _UNSET,
        region: str | None = _UNSET,
        dealer: str | None = _UNSET,
    ) -> OrgUser:
        """Change some of a user's fields (those passed); the user as they are now."""
        say = check.actor_locale(actor)
        code_argument("login", login, say)
        changes: dict[str, Any] = {}
        if name is not _UNSET:
            changes["name"] = text_argument("name", name, 100, say).strip()
        if kind is not _UNSET:
            changes["kind"] = check.check_choice("kind", kind, KINDS, say)
        if locale is not _UNSET:
            changes["locale"] = check.check_choice("locale", locale, LOCALES, say)
        for argument, value, limit in (("email", email, 254), ("mobile", mobile, 20)):
            if value is not _UNSET:
                changes[argument] = optional_text_argument(argument, value, limit, say)
        for argument, value in (
            ("department", department),
            ("leader", leader),
            ("region", region),
            ("dealer", dealer),
        ):
            if value is not _UNSET:
                changes[argument] = optional_code_argument(argument, value, say)
        if changes.get("leader") is not None and changes["leader"] == login:
            raise invalid("leader", login, say, "另一位用户", "another user than the user")
        with self._write(actor) as (conn, journal):
            self._require_admin(conn, actor, say)
            before = org_people.get_user(conn, login)
            if before is None:
                raise no_user(login, say)
            after = {**dict(before), **changes}
            check_kind(after["kind"], after["dealer"], after["department"], say)
            self._require(
                conn,
                say,
                department=changes.get("department"),
                dealer=changes.get("dealer"),
                region=changes.get("region"),
                user=changes.get("leader"),
            )
            changed = org_people.update_user(conn, login, changes, journal.at)
            if changed:
                detail = {"login": login, "changes": {k: list(v) for k, v in changed.items()}}
                self._changed(conn, journal, "user.update", detail)
            return _user(conn, login)

    def set_password(
        self, actor: Actor, login: str, password: str, *, must_change: bool = False
    ) -> None:
        """Set a user's password (stored as an argon2id hash only); every session of the
        user ends. With ``must_change`` (a password the admin generated and handed over)
        the user must choose their own at the next sign-in."""
        say = check.actor_locale(actor)
        code_argument("login", login, say)
        flagged = check.check_flag("must_change", must_change, say)
        hashed = passwords.hash_password(password_argument(password, say))
        with self._write(actor) as (conn, journal):
            self._require_admin(conn, actor, say)
            if (
                org_sessions.set_password(conn, login, hashed, must_change=flagged, now=journal.at)
                is None
            ):
                raise no_user(login, say)
            detail = {"login": login, "must_change": flagged}
            self._changed(conn, journal, "user.password", detail)

    def set_active(self, actor: Actor, login: str, active: bool) -> bool:
        """Enable or disable a user (a disabled user can neither sign in nor use tokens).

        True when that changed something.
        """
        say = check.actor_locale(actor)
        code_argument("login", login, say)
        check.check_flag("active", active, say)
        with self._write(actor) as (conn, journal):
            self._require_admin(conn, actor, say)
            if not org_people.exists(conn, "user", login):
                raise no_user(login, say)
            if not org_people.set_active(conn, login, active, journal.at):
                return False
            action = "user.enable" if active else "user.disable"
            self._changed(conn, journal, action, {"login": login})
            return True

    def add_role(self, actor: Actor, login: str, role: str) -> bool:
        """Make ``login`` a member of the organisation role ``role``; False when already one."""
        return self._role_member(actor, login, role, add=True)

    def remove_role(self, actor: Actor, login: str, role: str) -> bool:
        """Take ``login`` out of ``role``; False when not a member."""
        return self._role_member(actor, login, role, add=False)

    def _role_member(self, actor: Actor, login: str, role: str, *, add: bool) -> bool:
        say = check.actor_locale(actor)
        code_argument("login", login, say)
        code_argument("role", role, say)
        with self._write(actor) as (conn, journal):
            self._require_admin(conn, actor, say)
            self._require(conn, say, user=login, roles=[role])
            change = org_people.add_role_member if add else org_people.remove_role_member
            if not change(conn, role, login):
                return False
            action = "role.add_member" if add else "role.remove_member"
            self._changed(conn, journal, action, {"login": login, "role": role})
            return True

    def user(self, actor: Actor, login: str) -> OrgUser:
        """A user's public fields (admins, and the user themselves)."""
        say = check.actor_locale(actor)
        code_argument("login", login, say)
        with self._context.transactions.database.read() as conn:
            self._require_admin_or_self(conn, actor, login, say)
            if org_people.get_user(conn, login) is None:
                raise no_user(login, say)
            return _user(conn, login)

    # -- reading the organisation (administrators) ----------------------------------------
    def is_admin(self, actor: Actor) -> bool:
        """Whether ``actor`` administers the organisation (what every change here requires)."""
        check.actor_locale(actor)
        with self._context.transactions.database.read() as conn:
            return self._is_admin(conn, actor)

    def list_users(
        self, actor: Actor, *, search: str | None = None, page: int = 1, page_size: int = 50
    ) -> OrgUserPage:
        """Users whose login or name contains ``search`` (any case), by login, a page at a time."""
        say = check.actor_locale(actor)
        search = optional_text_argument("search", search, 100, say)
        check.check_whole_number("page", page, 1, 1_000_000, say)
        check.check_whole_number("page_size", page_size, 1, 500, say)
        with self._context.transactions.database.read() as conn:
            self._require_admin(conn, actor, say)
            rows, total = org_lists.users_page(conn, search, (page - 1) * page_size, page_size)
        return OrgUserPage([OrgUserRow(**row) for row in rows], total, page, page_size)

    def departments(self, actor: Actor) -> list[OrgNode]:
        """Every department in tree order (parents first) with its managers."""
        return self._nodes(actor, org_lists.departments)

    def regions(self, actor: Actor) -> list[OrgNode]:
        """Every region in tree order with its level and managers."""
        return self._nodes(actor, org_lists.regions)

    def dealers(self, actor: Actor) -> list[OrgNode]:
        """Every dealer in tree order with its region, sales representative and users."""
        return self._nodes(actor, org_lists.dealers)

    def roles(self, actor: Actor) -> list[OrgRole]:
        """Every organisation role by code with its members."""
        say = check.actor_locale(actor)
        with self._context.transactions.database.read() as conn:
            self._require_admin(conn, actor, say)
            return [OrgRole(**row) for row in org_lists.roles(conn)]

    def _nodes(self, actor: Actor, read: Any) -> list[OrgNode]:
        say = check.actor_locale(actor)
        with self._context.transactions.database.read() as conn:
            self._require_admin(conn, actor, say)
            return [OrgNode(**row) for row in read(conn)]

    # -- signing in ---------------------------------------------------------------------
    def authenticate(self, login: str, password: str) -> Actor | None:
        """The actor of a login and password, or None (unknown, disabled, wrong, no password).

        Always spends one password verification, so an unknown login takes as long as
        a wrong password. A hash made with weaker parameters is replaced on success.
        """
        check_text("login", login, 255, "zh-CN")
        secret_argument(password, "zh-CN")
        if not (len(login) <= MAX_CODE and CODE.fullmatch(login)):
            passwords.spend_verify_time(password)
            return None
        with self._context.transactions.database.read() as conn:
            row = org_people.get_user(conn, login)
        stored = row["password_hash"] if row is not None else None
        if not stored:
            passwords.spend_verify_time(password)
            return None
        if not passwords.verify_password(stored, password) or not row["active"]:
            return None
        if passwords.needs_rehash(stored):
            rehashed = passwords.hash_password(password)
            with self._context.transactions.database.write() as conn:
                org_people.set_password_hash(conn, login, rehashed, self._context.clock())
        return self._actor_of(login)

    # -- API tokens -----------------------------------------------------------------------
    def create_token(self, actor: Actor, login: str, name: str) -> str:
        """A new API token for ``login``: returned once, only its SHA-256 is kept."""
        say = check.actor_locale(actor)
        code_argument("login", login, say)
        text_argument("name", name, 100, say)
        token = new_token()
        with self._write(actor) as (conn, journal):
            self._require_admin(conn, actor, say)
            if not org_people.exists(conn, "user", login):
                raise no_user(login, say)
            token_id = org_people.insert_token(
                conn, login, name.strip(), token.digest, token.prefix, journal.at
            )
            detail = {"login": login, "token_id": token_id, "name": name.strip()}
            self._changed(conn, journal, "token.create", detail)
        return token.secret

    def list_tokens(self, actor: Actor, login: str) -> list[ApiToken]:
        """A user's tokens, revoked ones included, oldest first (admins and the user)."""
        say = check.actor_locale(actor)
        code_argument("login", login, say)
        with self._context.transactions.database.read() as conn:
            self._require_admin_or_self(conn, actor, login, say)
            if not org_people.exists(conn, "user", login):
                raise no_user(login, say)
            return [ApiToken(**row) for row in org_people.tokens_of(conn, login)]

    def revoke_token(self, actor: Actor, login: str, token_id: int) -> bool:
        """Revoke one of ``login``'s tokens; False when it was revoked already."""
        say = check.actor_locale(actor)
        code_argument("login", login, say)
        check.check_record_id(token_id, say, "token_id")
        with self._write(actor) as (conn, journal):
            self._require_admin(conn, actor, say)
            outcome = org_people.revoke_token(conn, login, token_id, journal.at)
            if outcome is None:
                raise NotFoundError(
                    localised(
                        say,
                        f"用户 {login} 没有编号为 {token_id} 的令牌",
                        f"{login} has no token {token_id}",
                    )
                )
            if outcome == "already":
                return False
            self._changed(conn, journal, "token.revoke", {"login": login, "token_id": token_id})
            return True

    def actor_for_token(self, token: str) -> Actor | None:
        """The actor of an API token, or None (unknown, revoked, or its user disabled).

        A token that works has its ``last_used_at`` moved to now, unless it was used
        less than ``org_tokens.TOUCH_INTERVAL`` (a minute) ago: every API request
        comes here, and a write per request would serialise them all.
        """
        if not looks_like_token(token):
            return None
        digest = token_digest(token)
        now = self._context.clock()
        with self._context.transactions.database.read() as conn:
            found = org_tokens.live_token(conn, digest)
            # the user's roles from the per-generation cache: no statement once known
            principal = (
                None
                if found is None
                else self._context.transactions.principals.resolve(conn, Actor(found[0]))
            )
        if found is None or principal is None or not principal.known or not principal.active:
            return None
        if org_tokens.is_stale(found[1], now):
            with self._context.transactions.database.write() as conn:
                org_tokens.touch_token(conn, digest, now)
        return Actor(
            principal.login,
            frozenset(principal.roles),
            principal.department,
            principal.locale if principal.locale in LOCALES else "zh-CN",
        )

    # -- managers -------------------------------------------------------------------------
    def managers(self, actor: Actor, login: str, level: int) -> list[tuple[int, str]]:
        """The managers ``level`` levels up from ``login``: (level, login) pairs.

        See engine/store/org_managers.py (and docs/org.md) for the rules; an empty list
        when that level has no (active) manager.
        """
        return self._managers(actor, login, level, org_managers.managers_at_level)

    def managers_up_to(self, actor: Actor, login: str, level: int) -> list[tuple[int, str]]:
        """The managers of levels 1..``level`` above ``login``, by level then login."""
        return self._managers(actor, login, level, org_managers.managers_up_to)

    def _managers(self, actor: Actor, login: str, level: int, query: Any) -> list[tuple[int, str]]:
        say = check.actor_locale(actor)
        code_argument("login", login, say)
        check.check_whole_number("level", level, 1, org_managers.MAX_LEVEL, say)
        with self._context.transactions.database.read() as conn:
            self._require_admin_or_self(conn, actor, login, say)
            found: list[tuple[int, str]] = query(conn, login, level)
            # nobody above: say so when the login itself is unknown (one more query only then)
            if not found and not org_people.exists(conn, "user", login):
                raise no_user(login, say)
            return found

    # -- helpers ----------------------------------------------------------------------------
    @contextmanager
    def _write(self, actor: Actor) -> Iterator[tuple[Connection, Journal]]:
        """A write transaction and the journal of its audit entries."""
        with self._context.transactions.database.write() as conn:
            yield conn, Journal(actor.user_id, self._context.clock())

    def _changed(
        self, conn: Connection, journal: Journal, action: str, detail: dict[str, Any]
    ) -> None:
        journal.audit(ORG_SUBJECT, action, detail)
        journal.flush(conn)
        bump_org_generation(conn)

    def acting(self, login: str, *, locale: str = "zh-CN") -> Actor:
        """The actor for a login given on the command line (``--user``).

        Once the organisation has users, the login must be one of them and active
        (NotFoundError / PermissionDeniedError otherwise); before, any login acts.
        """
        if not isinstance(login, str) or not login:
            raise InvalidArgumentError(
                localised(locale, "登录名应为非空文本", "a login must be non-empty text"),
                argument="login",
                given=shorten(login),
            )
        with self._context.transactions.database.read() as conn:
            if not has_people(conn):
                return Actor(login, locale=locale)
            principal = principal_facts(conn, login)
        if principal is None:
            raise NotFoundError(
                localised(
                    locale,
                    f"组织中没有用户 {login}：用 `lowcode user create {login} --name 名字` 创建，"
                    "或用 --user 指定已有的登录名",
                    f"the organisation has no user {login}: create it with "
                    f"`lowcode user create {login} --name NAME`, or give an existing login to --user",
                )
            )
        require_active(principal, locale)
        return Actor(principal.login, locale=locale)

    def _actor_of(self, login: str) -> Actor | None:
        with self._context.transactions.database.read() as conn:
            principal = principal_facts(conn, login)
        if principal is None or not principal.active:
            return None
        return Actor(
            principal.login,
            frozenset(principal.roles),
            principal.department,
            principal.locale if principal.locale in LOCALES else "zh-CN",
        )

    def _principal(self, conn: Connection, actor: Actor) -> Principal | None:
        """The actor as the organisation knows them (the per-generation cache), or None."""
        if actor == SYSTEM_ACTOR:
            return None
        known = self._context.transactions.principals.resolve(conn, actor)
        return known if known.known else None

    def _is_admin(self, conn: Connection, actor: Actor) -> bool:
        known = self._principal(conn, actor)
        if known is None:
            return actor.user_id == SYSTEM_ACTOR.user_id or ADMIN_ROLE in actor.roles
        return known.active and known.is_admin

    def _require_admin(self, conn: Connection, actor: Actor, say: str) -> None:
        if not self._is_admin(conn, actor):
            raise PermissionDeniedError(
                localised(
                    say,
                    f"只有管理员（组织角色 {ADMIN_ROLE} 的成员）可以管理组织，{actor.user_id} 不是",
                    f"only an administrator (a member of the organisation role "
                    f"'{ADMIN_ROLE}') may manage the organisation; {actor.user_id} is not one",
                )
            )

    def _require_admin_or_self(self, conn: Connection, actor: Actor, login: str, say: str) -> None:
        if actor.user_id == login:
            known = self._principal(conn, actor)
            if known is None or known.active:
                return
        self._require_admin(conn, actor, say)

    def _require(
        self,
        conn: Connection,
        say: str,
        *,
        roles: Iterable[str] = (),
        **single: str | None,
    ) -> None:
        """Refuse (NotFoundError) a department, dealer, region, user or role that is not there."""
        wanted = [(kind, code) for kind, code in single.items() if code is not None]
        wanted += [("role", role) for role in roles]
        for kind, code in wanted:
            if not org_people.exists(conn, kind, code):
                raise NotFoundError(
                    localised(
                        say,
                        f"组织中没有 {_KIND_ZH[kind]} {code}（先在组织文件中定义，再 lowcode org load）",
                        f"the organisation has no {kind} '{code}' (define it in the "
                        "organisation file and run `lowcode org load`)",
                    )
                )


_KIND_ZH = {
    "department": "部门",
    "dealer": "经销商",
    "region": "区域",
    "user": "用户",
    "role": "角色",
}


def _user(conn: Connection, login: str) -> OrgUser:
    row = org_people.get_user(conn, login)
    principal = principal_facts(conn, login)
    assert row is not None and principal is not None
    return OrgUser(
        login=row["login"],
        name=row["name"],
        kind=row["kind"],
        active=bool(row["active"]),
        locale=row["locale"],
        email=row["email"],
        mobile=row["mobile"],
        department=row["department"],
        departments=principal.departments,
        leader=row["leader"],
        region=row["region"],
        dealer=row["dealer"],
        roles=tuple(sorted(principal.roles)),
        has_password=bool(row["password_hash"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
