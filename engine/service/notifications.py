"""The notifications centre: people's in-app messages, their e-mail copies, the digest.

Reading (``service.notifications``, each call one transaction, only the actor's own
messages)::

    page = service.notifications.list(actor, unread_only=False, page=1, page_size=20)
    service.notifications.unread_count(actor)  # the navigation bar's badge
    service.notifications.open(actor, notification_id)  # read it (marks it read)
    service.notifications.mark_read(actor, [3, 4])  # -> how many changed
    service.notifications.mark_all_read(actor)

Delivering (:class:`PeopleMessages`, called by the ``rule.notify`` deliverer of
engine/service/rule_delivery.py after commit): a rule's ``notify`` with ``to:`` finds
its recipients in the organisation (roles, users, departments, user fields of the
record; active users only), renders the title and message with the sandboxed templates
for each of them, and writes one ``notifications`` row per recipient, idempotently on
``(source_key = the event's idempotency key, user_id)``. With ``via: [email]`` each
recipient who has an address gets one mail, and the row's ``emailed_at`` is set once it
went out, so a retried event mails only those not mailed yet. A ``digest:
pending_approvals`` sends one message to each person with open approval tasks of the
rule's app, listing them (template names ``count`` and ``tasks``).
"""

from __future__ import annotations

import builtins
import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.definitions.rules import demangle, mangle, mangled
from engine.errors import ConflictError, ExpressionError, NotFoundError, ServiceError
from engine.expressions import EvaluationContext, compile_expression
from engine.service import arguments as check
from engine.service.actor import SYSTEM_ACTOR, Actor
from engine.service.context import ServiceContext
from engine.service.delivery import (
    DeliveryError,
    DeliveryResult,
    MailSettings,
    Message,
    MessageTemplate,
    send_mail,
    template_values,
)
from engine.store import notifications as store
from engine.store import org_people
from engine.store.outbox import OutboxEvent
from engine.store.types import DEFAULT_TZ

#: where a ``notify`` to people may deliver
CHANNELS = ("inbox", "email")
#: the digests a ``notify`` may send
DIGESTS = ("pending_approvals",)
#: what a ``to:`` item may name
TARGETS = ("role", "user", "department", "field")
#: the longest title and body a row keeps (longer renderings are cut)
MAX_TITLE = 200
MAX_BODY = 4000
#: the default texts of a digest (zh-CN, the engine's default language)
DIGEST_TITLE = "待审批 {{ count }} 项"
DIGEST_MESSAGE = (
    "{% for task in tasks %}- {{ task.form_name }}：{{ task.title }}"
    "（{{ task.since }} 起）\n{% endfor %}"
)


@dataclass(frozen=True)
class Notification:
    """One message of a person: ``link`` is where it points (a record, or None)."""

    id: int
    title: str
    body: str
    sender: str
    app: str | None
    form: str | None
    record_id: int | None
    created_at: datetime
    read_at: datetime | None
    emailed_at: datetime | None

    @property
    def read(self) -> bool:
        """Whether the person has read it."""
        return self.read_at is not None


@dataclass(frozen=True)
class NotificationPage:
    """One page of a person's messages (newest first) and how many there are in all."""

    items: list[Notification]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least 1)."""
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class Recipient:
    """A person a message goes to (an active user of the organisation)."""

    login: str
    name: str
    email: str | None
    locale: str


class NotificationUseCases:
    """A person's messages: list, count the unread, open, mark read (own rows only)."""

    def __init__(self, context: ServiceContext, forms: Any = None):
        self._context = context
        #: delivery of rule messages to people (the ``rule.notify`` deliverer uses it)
        self.delivery = PeopleMessages(context, forms)

    def list(
        self, actor: Actor, *, unread_only: bool = False, page: int = 1, page_size: int = 20
    ) -> NotificationPage:
        """The actor's messages, newest first; ``unread_only`` keeps the unread ones."""
        say = check.actor_locale(actor)
        check.check_flag("unread_only", unread_only, say)
        page = check.check_whole_number("page", page, 1, 1_000_000, say)
        page_size = check.check_whole_number("page_size", page_size, 1, 200, say)
        with self._context.transactions.database.read() as conn:
            rows, total = store.page_of(
                conn,
                actor.user_id,
                unread_only=unread_only,
                limit=page_size,
                offset=(page - 1) * page_size,
            )
        return NotificationPage([_notification(r) for r in rows], total, page, page_size)

    def unread_count(self, actor: Actor) -> int:
        """How many of the actor's messages are unread (one indexed count)."""
        check.actor_locale(actor)
        with self._context.transactions.database.read() as conn:
            return store.unread_count(conn, actor.user_id)

    def open(self, actor: Actor, notification_id: int) -> Notification:
        """One of the actor's messages, marked read; NotFoundError for another's or none."""
        say = check.actor_locale(actor)
        notification_id = check.check_record_id(notification_id, say, "notification_id")
        with self._context.transactions.database.write() as conn:
            store.mark_read(conn, actor.user_id, [notification_id], self._context.clock())
            row = store.one_of(conn, actor.user_id, notification_id)
        if row is None:
            raise NotFoundError(
                _say(
                    say,
                    f"没有编号为 {notification_id} 的通知（或它不是您的）",
                    f"there is no notification {notification_id} (or it is not yours)",
                )
            )
        return _notification(row)

    def mark_read(self, actor: Actor, ids: Iterable[int]) -> int:
        """Mark some of the actor's messages read; how many changed (others' ids: none)."""
        say = check.actor_locale(actor)
        if isinstance(ids, (str, bytes, Mapping)) or not isinstance(ids, Iterable):
            raise check.invalid(say, "ids", ids, "a list of notification ids")
        wanted = [check.check_record_id(i, say, "ids") for i in ids]
        with self._context.transactions.database.write() as conn:
            return store.mark_read(conn, actor.user_id, wanted, self._context.clock())

    def mark_all_read(self, actor: Actor) -> int:
        """Mark every unread message of the actor read; how many changed."""
        check.actor_locale(actor)
        with self._context.transactions.database.write() as conn:
            return store.mark_read(conn, actor.user_id, None, self._context.clock())


class PeopleMessages:
    """Rule messages to people: recipients, rendering, rows, e-mail copies."""

    def __init__(self, context: ServiceContext, forms: Any = None):
        self._context = context
        #: (app, form) -> the form's definition, for the digest's form names
        self._forms = forms

    def deliver(
        self, event: OutboxEvent, action: Mapping[str, Any], mail: MailSettings | None
    ) -> DeliveryResult:
        """Deliver a ``notify`` with ``to:`` or ``digest:`` (the action's data)."""
        payload = event.payload
        rule, app = str(payload.get("rule")), payload.get("app")
        via = _via(action)
        if action.get("digest") is not None:
            messages = self._digest(action, app, rule)
            where: tuple[Any, Any, Any] = (app, None, None)
        else:
            record = payload.get("record") or {}
            messages = self._to_people(action, record, rule)
            where = (app, payload.get("form"), payload.get("id"))
        now = self._context.clock()
        rows = [
            {
                "user_id": person.login,
                "app": where[0],
                "form": where[1],
                "record_id": where[2],
                "title": title,
                "body": body,
                "sender": f"rule:{app}.{rule}" if app else f"rule:{rule}",
                "source_key": event.idempotency_key,
                "created_at": now,
            }
            for person, title, body in messages
        ]
        with self._context.transactions.database.write() as conn:
            written = store.insert_once(conn, rows)
        mailed = 0
        if "email" in via:
            mailed = self._mail(event, [person for person, _t, _b in messages], mail)
        return DeliveryResult(
            channel="inbox",
            status=None,
            body_excerpt=f"{len(rows)} recipients, {written} new messages, {mailed} mails",
            details={"recipients": len(rows), "written": written, "mailed": mailed},
        )

    # -- who -----------------------------------------------------------------------------
    def recipients(
        self, targets: Sequence[Mapping[str, Any]], record: Mapping[str, Any]
    ) -> list[Recipient]:
        """The active people ``to:`` names, each once, by login. A role, department or
        user that the organisation does not have is a permanent DeliveryError (fix the
        organisation, then replay); a record's field naming no user is left out."""
        roles, departments, users, from_fields = [], [], [], []
        for target in targets:
            kind, value = next(iter(target.items()))
            if kind == "field":
                from_fields.extend(_logins(record.get(value)))
            elif kind == "role":
                roles.append(str(value))
            elif kind == "department":
                departments.append(str(value))
            else:
                users.append(str(value))
        with self._context.transactions.database.read() as conn:
            missing = [f"role {c}" for c in roles if not org_people.exists(conn, "role", c)]
            missing += [
                f"department {c}"
                for c in departments
                if not org_people.exists(conn, "department", c)
            ]
            known = store.users_by_login(conn, users)
            missing += [f"user {c}" for c in users if c not in known]
            if missing:
                raise permanent(
                    f"组织中没有：{', '.join(missing)}（在组织中创建后重放该事件）",
                    f"the organisation has no {', '.join(missing)} "
                    "(create them, then replay the event)",
                )
            logins = set(users) | set(from_fields)
            logins |= set(store.role_members(conn, roles))
            logins |= set(store.department_members(conn, departments))
            people = store.users_by_login(conn, logins)
        return [
            Recipient(p["login"], p["name"], p["email"] or None, p["locale"])
            for _login, p in sorted(people.items())
            if p["active"]
        ]

    def _to_people(
        self, action: Mapping[str, Any], record: Mapping[str, Any], rule: str
    ) -> list[tuple[Recipient, str, str]]:
        targets = _targets(action.get("to"))
        people = self.recipients(targets, record)
        title_text = str(action.get("title") or record.get("title") or rule)
        title, message = _templates(rule, title_text, str(action.get("message") or ""))
        return [
            (
                person,
                *_render(title, message, template_values(record=record, recipient=_who(person))),
            )
            for person in people
        ]

    def _digest(
        self, action: Mapping[str, Any], app: Any, rule: str
    ) -> list[tuple[Recipient, str, str]]:
        kind = action.get("digest")
        if kind not in DIGESTS:
            raise permanent(
                f"未知的摘要 {kind!r}，可用：{', '.join(DIGESTS)}",
                f"unknown digest {kind!r}; one of: {', '.join(DIGESTS)}",
            )
        with self._context.transactions.database.read() as conn:
            tasks = store.open_tasks(conn, app if isinstance(app, str) else None)
            people = store.users_by_login(conn, {t["assignee"] for t in tasks})
        title, message = _templates(
            rule,
            str(action.get("title") or DIGEST_TITLE),
            str(action.get("message") or DIGEST_MESSAGE),
        )
        by_person: dict[str, list[dict[str, Any]]] = {}
        for task in tasks:
            by_person.setdefault(task["assignee"], []).append(self._task(task))
        messages = []
        for login, listed in sorted(by_person.items()):
            found = people.get(login)
            if found is None or not found["active"]:
                continue
            person = Recipient(login, found["name"], found["email"] or None, found["locale"])
            values = template_values(
                record={}, recipient=_who(person), count=len(listed), tasks=listed
            )
            messages.append((person, *_render(title, message, values)))
        return messages

    def _task(self, task: Mapping[str, Any]) -> dict[str, Any]:
        since = task["created_at"]
        return {
            "task_id": task["task_id"],
            "app": task["app"],
            "form": task["form"],
            "form_name": self._form_name(task["app"], task["form"]),
            "record_id": task["record_id"],
            "title": task["title"] or f"#{task['record_id']}",
            "node": task["node"],
            "since": (
                since.astimezone(DEFAULT_TZ).strftime("%Y-%m-%d %H:%M")
                if isinstance(since, datetime)
                else since
            ),
        }

    def _form_name(self, app: str, form: str) -> str:
        if self._forms is None:
            return form
        try:
            return self._forms(SYSTEM_ACTOR, app, form).name.get("zh-CN")
        except ServiceError:  # an uninstalled form: its key says enough
            return form

    # -- e-mail --------------------------------------------------------------------------
    def _mail(self, event: OutboxEvent, people: list[Recipient], mail: MailSettings | None) -> int:
        """Mail each recipient with an address whose row was not mailed yet; how many
        went out. Failures are raised after trying everyone (retryable when any is)."""
        with self._context.transactions.database.read() as conn:
            rows = {r["user_id"]: r for r in store.of_source(conn, event.idempotency_key)}
        due = [
            (person, rows[person.login])
            for person in people
            if person.email and person.login in rows and rows[person.login]["emailed_at"] is None
        ]
        if not due:
            return 0
        if mail is None:
            raise permanent(
                f"收件人中有 {len(due)} 人需要邮件，但未配置邮件服务器；站内通知已写入。"
                "请设置 LOWCODE_MAIL_URL（及 LOWCODE_MAIL_FROM）后重放该事件",
                f"{len(due)} recipients are due an e-mail but no mail server is configured; "
                "the in-app messages were written. Set LOWCODE_MAIL_URL (and "
                "LOWCODE_MAIL_FROM), then replay the event",
            )
        sent, failures = 0, []
        for person, row in due:
            message = Message(
                subject=row["title"],
                text=row["body"],
                to=(f"{_display_name(person.name)} <{person.email}>",),
            )
            try:
                send_mail(mail, message, idempotency_key=_mail_key(event, person.login))
            except DeliveryError as failed:
                failures.append((person.login, failed))
                continue
            with self._context.transactions.database.write() as conn:
                store.mark_emailed(conn, row["id"], self._context.clock())
            sent += 1
        if failures:
            text = "; ".join(f"{login}: {error.message}" for login, error in failures)
            raise DeliveryError(
                f"{len(failures)} of {len(due)} mails failed / {len(failures)} 封邮件失败: {text}",
                retryable=any(error.retryable for _login, error in failures),
                channel="mail",
            )
        return sent

    # -- accounts (create_user) ---------------------------------------------------------
    def create_account(
        self, event: OutboxEvent, action: Mapping[str, Any], org: Any, mail: MailSettings | None
    ) -> DeliveryResult:
        """Create the user a ``create_user`` action describes, as the rule (an
        administrator), through the organisation service the admin pages use, with a
        generated password to change at first sign-in, mailed to the user when mail is
        configured. A login this rule created before is a success (a retry); when the
        event is retried after a failed mail and the user has not chosen a password yet,
        a new one is set and mailed. The password is never returned or logged."""
        payload = event.payload
        rule = str(payload.get("rule"))
        creator = Actor(f"rule:{rule}", frozenset({"admin"}))
        values = _account_values(action, payload.get("record") or {}, self._context.clock())
        login = values["login"]
        password = secrets.token_urlsafe(12)
        created = True
        try:
            org.create_user(
                creator,
                login,
                values.get("name") or login,
                kind=values["kind"],
                email=values.get("email"),
                mobile=values.get("mobile"),
                locale=values["locale"],
                department=values.get("department"),
                dealer=values.get("dealer"),
                roles=values["roles"],
                password=password,
                password_must_change=True,
            )
        except ConflictError as taken:
            with self._context.transactions.database.read() as conn:
                ours = store.created_by(conn, login, creator.user_id)
                must_change = store.password_must_change(conn, login)
            if not ours:
                raise permanent(
                    f"登录名 {login} 已被占用（不是规则 {rule} 创建的）",
                    f"the login {login} is taken (not created by rule {rule})",
                ) from taken
            created = False
            if event.attempts == 0 or not must_change or mail is None or not values.get("email"):
                # a repeat of a delivered event, or the person chose a password already
                return DeliveryResult("account", None, f"{login} exists (created by {rule})")
            org.set_password(creator, login, password, must_change=True)
        except ServiceError as refused:  # a value the organisation refuses: fix and replay
            raise permanent(str(refused), str(refused)) from refused
        email = values.get("email")
        if mail is None or not email:
            return DeliveryResult("account", None, f"{login} created; no mail sent")
        send_mail(
            mail,
            _welcome(login, values.get("name") or login, email, password, values["locale"]),
            idempotency_key=_mail_key(event, login),
        )
        what = "created" if created else "password reset"
        return DeliveryResult("account", 250, f"{login} {what}; mailed to the user")


# -- helpers --------------------------------------------------------------------------------
def permanent(zh: str, en: str) -> DeliveryError:
    """A failure trying again cannot mend: the event is dead at once, with the reason."""
    return DeliveryError(f"{en} / {zh}" if zh != en else en, retryable=False)


def _say(locale: str, zh: str, en: str) -> str:
    return en if locale.startswith("en") else zh


def _via(action: Mapping[str, Any]) -> tuple[str, ...]:
    via = action.get("via") or ["inbox"]
    if isinstance(via, str):
        via = [via]
    wrong = [v for v in via if v not in CHANNELS]
    if wrong:
        raise permanent(
            f"via 只能是 {', '.join(CHANNELS)}，不能是 {', '.join(map(str, wrong))}",
            f"via takes {', '.join(CHANNELS)}, not {', '.join(map(str, wrong))}",
        )
    return tuple(via)


def _targets(value: Any) -> list[Mapping[str, Any]]:
    """``to:`` as a list of one-key mappings (a single mapping is a list of one)."""
    items = [value] if isinstance(value, Mapping) else value
    if not isinstance(items, builtins.list) or not items:
        raise permanent(
            "to: 须为收件人列表，如 [{role: 采购}, {user: zhangsan}]",
            "to: must list recipients, e.g. [{role: purchasing}, {user: zhangsan}]",
        )
    for item in items:
        if not isinstance(item, Mapping) or len(item) != 1 or next(iter(item)) not in TARGETS:
            raise permanent(
                f"to: 中的 {item!r} 须为 {{role|user|department|field: 代码}} 之一",
                f"to: item {item!r} must be one of {{role|user|department|field: code}}",
            )
    return items


def _logins(value: Any) -> list[str]:
    """The logins a user field holds (one, or a list with ``many: true``)."""
    if isinstance(value, str) and value:
        return [value]
    if isinstance(value, (builtins.list, tuple)):
        return [v for v in value if isinstance(v, str) and v]
    return []


def _who(person: Recipient) -> dict[str, Any]:
    return {"login": person.login, "name": person.name}


def _templates(rule: str, title: str, message: str) -> tuple[MessageTemplate, MessageTemplate]:
    try:
        return (
            MessageTemplate(title, name=f"{rule}.title"),
            MessageTemplate(message, name=f"{rule}.message"),
        )
    except ServiceError as refused:
        raise permanent(str(refused), str(refused)) from refused
    except ValueError as refused:  # TemplateError: a hostile or broken template
        raise permanent(str(refused), str(refused)) from refused


def _render(
    title: MessageTemplate, message: MessageTemplate, values: Mapping[str, Any]
) -> tuple[str, str]:
    try:
        rendered = title.render(values), message.render(values)
    except (ServiceError, ValueError) as refused:
        raise permanent(str(refused), str(refused)) from refused
    heading = " ".join(rendered[0].split())[:MAX_TITLE] or "-"
    return heading, rendered[1][:MAX_BODY]


def _display_name(name: str) -> str:
    """A name safe in a ``Name <address>`` header (no quotes, brackets or line breaks)."""
    return "".join(c for c in name if c not in '<>",;\r\n').strip() or "-"


def _mail_key(event: OutboxEvent, login: str) -> str:
    """The idempotency key of one recipient's mail (at most 200 characters)."""
    key = f"{event.idempotency_key}:{login}"
    if len(key) <= 200:
        return key
    return "notify:" + hashlib.sha256(key.encode()).hexdigest()


def _notification(row: Mapping[str, Any]) -> Notification:
    return Notification(
        id=int(row["id"]),
        title=row["title"],
        body=row["body"],
        sender=row["sender"],
        app=row["app"],
        form=row["form"],
        record_id=int(row["record_id"]) if row["record_id"] is not None else None,
        created_at=row["created_at"],
        read_at=row["read_at"],
        emailed_at=row["emailed_at"],
    )


#: what a ``create_user`` action may say: expressions over the record, and literals
ACCOUNT_EXPRESSIONS = ("login", "name", "email", "mobile", "department", "dealer")
ACCOUNT_LITERALS = ("roles", "kind", "locale")


def _account_values(
    action: Mapping[str, Any], record: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """The new account's values: each expression evaluated over the record (plain field
    names or ``record.x``), ``roles``/``kind``/``locale`` as written."""
    unknown = sorted(set(action) - set(ACCOUNT_EXPRESSIONS) - set(ACCOUNT_LITERALS))
    if unknown:
        raise permanent(
            f"create_user 不认识的键：{', '.join(unknown)}",
            f"create_user has unknown keys: {', '.join(unknown)}",
        )
    names = dict(record)
    names.update({mangled("record", k): v for k, v in record.items()})
    values: dict[str, Any] = {}
    for key in ACCOUNT_EXPRESSIONS:
        text = action.get(key)
        if text is None:
            continue
        try:
            found = compile_expression(mangle(str(text)), None).evaluate(
                names, EvaluationContext(now=now)
            )
        except ExpressionError as exc:
            raise permanent(
                f"create_user.{key} = {text!r} 计算出错：{demangle(str(exc))}",
                f"create_user.{key} = {text!r} failed: {demangle(str(exc))}",
            ) from exc
        values[key] = None if found is None or found == "" else str(found).strip()
    if not values.get("login"):
        raise permanent(
            f"create_user.login = {action.get('login')!r} 为空：记录中没有登录名",
            f"create_user.login = {action.get('login')!r} is blank: the record gives no login",
        )
    roles = action.get("roles") or []
    values["roles"] = [roles] if isinstance(roles, str) else [str(r) for r in roles]
    values["kind"] = action.get("kind") or ("external" if values.get("dealer") else "internal")
    values["locale"] = action.get("locale") or "zh-CN"
    return values


def _welcome(login: str, name: str, email: str, password: str, locale: str) -> Message:
    """The mail that hands a new account over: login and temporary password."""
    if locale.startswith("en"):
        subject = "Your account has been created"
        text = (
            f"Hello {name},\n\nan account has been created for you.\n\n"
            f"Login: {login}\nTemporary password: {password}\n\n"
            "You will be asked to choose your own password when you first sign in.\n"
        )
    else:
        subject = "您的账号已创建"
        text = (
            f"{name}，您好：\n\n已为您创建账号。\n\n"
            f"登录名：{login}\n临时密码：{password}\n\n"
            "首次登录时须设置您自己的密码。\n"
        )
    return Message(subject=subject, text=text, to=(f"{_display_name(name)} <{email}>",))
