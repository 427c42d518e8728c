"""A person's own account, as the web front needs it: the state a session checks on
every request, changing one's own password (required after an admin generated it),
signing out everywhere, and the language the pages speak.

A web session carries the *session epoch* it began in; moving the epoch on ends every
session that carries an older one at its next request (see web/auth.py). Setting a
password moves it too, so a reset by an admin or a change by the user ends the other
sessions. None of this is part of a Principal, so none of it moves the organisation's
generation.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import InvalidArgumentError, PermissionDeniedError
from engine.org import passwords
from engine.org.org_file import LOCALES
from engine.service import arguments as check
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.org import ORG_SUBJECT, OrgUseCases
from engine.service.org_arguments import (
    code_argument,
    localised,
    no_user,
    password_argument,
    secret_argument,
)
from engine.store import org_sessions
from engine.store.journal import Journal


@dataclass(frozen=True)
class SessionState:
    """What a web session checks of its user on every request."""

    login: str
    #: the epoch a session must carry to stay signed in
    epoch: int
    #: the user must choose a new password before anything else
    password_must_change: bool
    locale: str


class AccountUseCases:
    """The signed-in person's own account (each call is one transaction)."""

    def __init__(self, context: ServiceContext, org: OrgUseCases):
        self._context = context
        self._org = org

    def session_state(self, login: str) -> SessionState | None:
        """The session state of an active user; None when the login is unknown or disabled
        (the session then ends)."""
        code_argument("login", login, "zh-CN")
        with self._context.transactions.database.read() as conn:
            row = org_sessions.session_facts(conn, login)
        if row is None or not row["active"]:
            return None
        locale = row["locale"] if row["locale"] in LOCALES else "zh-CN"
        return SessionState(
            login, int(row["session_epoch"]), bool(row["password_must_change"]), locale
        )

    def change_password(self, actor: Actor, current: str, new: str) -> int:
        """Replace the actor's own password after checking the current one; the new
        session epoch (the caller's session takes it, every other session ends).

        InvalidArgumentError (``current_password``) when the current password is wrong,
        (``password``) when the new one is too short or the same as the current one.
        """
        say = check.actor_locale(actor)
        current = secret_argument(current, say)
        new = password_argument(new, say)
        login = actor.user_id
        with self._context.transactions.database.read() as conn:
            stored = org_sessions.password_hash_of(conn, login)
        if not stored or not passwords.verify_password(stored, current):
            raise InvalidArgumentError(
                localised(say, "当前密码不正确", "the current password is wrong"),
                argument="current_password",
                given="<hidden>",
                code="wrong_password",
            )
        if new == current:
            raise InvalidArgumentError(
                localised(
                    say,
                    "新密码不能与当前密码相同",
                    "the new password must differ from the current one",
                ),
                argument="password",
                given="<hidden>",
                code="unchanged",
            )
        hashed = passwords.hash_password(new)
        with self._context.transactions.database.write() as conn:
            journal = Journal(login, self._context.clock())
            epoch = org_sessions.set_password(
                conn, login, hashed, must_change=False, now=journal.at
            )
            if epoch is None:
                raise no_user(login, say)
            journal.audit(ORG_SUBJECT, "user.password", {"login": login, "own": True})
            journal.flush(conn)
            return epoch

    def sign_out_everywhere(self, actor: Actor, login: str | None = None) -> int:
        """End every web session of ``login`` (the actor's own by default; another
        user's only for an administrator); the new session epoch."""
        say = check.actor_locale(actor)
        target = actor.user_id if login is None else code_argument("login", login, say)
        if target != actor.user_id and not self._org.is_admin(actor):
            raise PermissionDeniedError(
                localised(
                    say,
                    f"只有管理员可以让 {target} 在所有设备上退出登录",
                    f"only an administrator may sign {target} out everywhere",
                )
            )
        with self._context.transactions.database.write() as conn:
            journal = Journal(actor.user_id, self._context.clock())
            epoch = org_sessions.next_session_epoch(conn, target, journal.at)
            if epoch is None:
                raise no_user(target, say)
            journal.audit(ORG_SUBJECT, "user.sign_out_everywhere", {"login": target})
            journal.flush(conn)
            return epoch

    def set_locale(self, actor: Actor, locale: str) -> None:
        """Keep the language the actor's pages speak (zh-CN or en)."""
        say = check.actor_locale(actor)
        chosen = check.check_choice("locale", locale, LOCALES, say)
        with self._context.transactions.database.write() as conn:
            if not org_sessions.set_locale(conn, actor.user_id, chosen, self._context.clock()):
                raise no_user(actor.user_id, say)
