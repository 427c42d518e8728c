"""Deliverers of the messages rules queue (``rule.webhook``, ``rule.notify``,
``rule.create_user``): the outbox dispatcher calls them after commit
(engine/service/dispatcher.py) and they send through the delivery channels
(engine/service/delivery/) and the notifications centre (engine/service/notifications.py).

A rule's action names the channel and its settings::

    - webhook: {url: "https://erp.example.cn/hooks/orders", secret: "s3cret", timeout: 10}
    - notify:
        channel: dingtalk          # dingtalk | wecom | feishu | webhook
        url: "https://oapi.dingtalk.com/robot/send?access_token=..."
        secret: "SEC..."
        title: "新订单 {{ record.serial }}"
        message: "{{ record.title }}：金额 {{ record.total }}"
    - notify:                      # people of the organisation: in-app, and e-mail
        to: [{role: purchasing}, {field: created_by}]
        via: [inbox, email]
        title: "采购申请 {{ record.serial }} 已批准"
    - notify: {digest: pending_approvals, via: [inbox, email]}
    - create_user: {login: record.code, name: record.contact, email: record.email,
                    roles: [dealer], dealer: record.code}

A webhook posts ``{"rule", "app", "form", "record_id", "record"}`` signed with the
secret; a robot gets the rendered title and message; people get one notifications row
each (and a mail with ``via: email``). Settings that cannot be used (no URL, an unknown
key, a broken template, a role the organisation does not have) make the event dead at
once with the reason, listed by ``lowcode outbox --failed`` and replayable once fixed.

Mail goes out through the service's ``mail_url`` / ``mail_from`` (the web's MAIL_URL /
MAIL_FROM, or the environment's LOWCODE_MAIL_URL / LOWCODE_MAIL_FROM).

``create_user`` creates the account through the organisation service (as the rule,
an administrator), with a generated password the user must change at first sign-in,
mailed to the new user's address when mail is configured (otherwise an administrator
sets one). The password is never written to the outbox or a log. A retry after the
account was created is a success: the login exists and this rule created it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine.errors import ServiceError
from engine.service.delivery import (
    DeliveryError,
    DeliveryResult,
    MailSettings,
    Message,
    MessageTemplate,
    channel_settings,
    deliver,
    template_values,
)
from engine.store.outbox import OutboxEvent

if TYPE_CHECKING:
    from engine.service.service import Service

#: the keys of a notify action that are the channel's settings
SETTING_KEYS = ("url", "secret", "timeout")
ROBOTS = ("dingtalk", "wecom", "feishu", "webhook")


def register_rule_deliverers(dispatcher: Any, service: Service | None = None) -> None:
    """Deliver ``rule.webhook``, ``rule.notify`` and ``rule.create_user`` events through
    ``dispatcher``; messages to people and accounts go through ``service`` (its
    organisation, notifications and mail settings; default: the dispatcher's)."""
    if service is None:
        # the Service the dispatcher delivers for (a Dispatcher always has one)
        service = dispatcher._service
    deliverers = RuleDeliverers(service)
    dispatcher.register("rule.webhook", deliver_rule_webhook)
    dispatcher.register("rule.notify", deliverers.notify)
    dispatcher.register("rule.create_user", deliverers.create_user)


class RuleDeliverers:
    """The deliverers that need the service: ``notify`` (robots and people) and
    ``create_user``."""

    def __init__(self, service: Service):
        self._service = service

    def notify(self, event: OutboxEvent) -> DeliveryResult:
        """A robot's message (``channel:``), or a message to people (``to:``/``digest:``)."""
        action = _action(event)
        if "channel" in action:
            return deliver_rule_notify(event)
        if "to" not in action and "digest" not in action:
            raise _permanent(
                "notify 须有 channel（群机器人）、to（组织中的人员）或 digest（摘要）之一",
                "a notify needs one of channel (a group robot), to (people of the "
                "organisation) or digest",
            )
        mail = self._mail() if "email" in _listed(action.get("via")) else None
        return self._service.notifications.delivery.deliver(event, action, mail)

    def create_user(self, event: OutboxEvent) -> DeliveryResult:
        """Create the account the action describes (idempotent; see the module text)."""
        action = _action(event)
        return self._service.notifications.delivery.create_account(
            event, action, self._service.org, self._mail()
        )

    def _mail(self) -> MailSettings | None:
        """The service's mail settings (None: not configured); settings that cannot
        work are a permanent failure naming them."""
        try:
            return self._service.mail_settings()
        except ServiceError as refused:
            raise _permanent(str(refused), str(refused)) from refused


def deliver_rule_webhook(event: OutboxEvent) -> DeliveryResult:
    """POST the record a rule fired on to the action's URL (signed with its secret)."""
    action = _action(event)
    settings = _settings("webhook", {k: action[k] for k in SETTING_KEYS if k in action})
    payload = event.payload
    body = {
        "rule": payload.get("rule"),
        "app": payload.get("app"),
        "form": payload.get("form"),
        "record_id": payload.get("id"),
        "record": payload.get("record") or {},
    }
    return deliver(
        settings,
        Message(payload=body),
        idempotency_key=event.idempotency_key,
        event=f"rule.{event.payload.get('rule')}",
    )


def deliver_rule_notify(event: OutboxEvent) -> DeliveryResult:
    """Render the action's title and message and send them to its group robot."""
    action = _action(event)
    channel = action.get("channel")
    if channel not in ROBOTS:
        raise _permanent(
            f"未知的 channel {channel!r}，可用：{', '.join(ROBOTS)}",
            f"unknown channel {channel!r}; one of: {', '.join(ROBOTS)}",
        )
    settings = _settings(channel, {k: action[k] for k in SETTING_KEYS if k in action})
    rule = str(event.payload.get("rule"))
    values = template_values(record=event.payload.get("record") or {})
    try:
        title = MessageTemplate(str(action.get("title", "")), name=f"{rule}.title").render(values)
        text = MessageTemplate(str(action.get("message", "")), name=f"{rule}.message").render(
            values
        )
    except ServiceError as refused:
        raise _permanent(str(refused), str(refused)) from refused
    return deliver(
        settings,
        Message(subject=title, text=text, markdown=f"### {title}\n\n{text}" if title else None),
        idempotency_key=event.idempotency_key,
        event=f"rule.{rule}",
    )


def _action(event: OutboxEvent) -> Mapping[str, Any]:
    action = event.payload.get("action") if isinstance(event.payload, Mapping) else None
    if not isinstance(action, Mapping):
        kind = event.topic.removeprefix("rule.")
        raise _permanent(f"事件没有 {kind} 设置", f"the event carries no {kind} settings")
    return action


def _settings(kind: str, settings: Mapping[str, Any]) -> Any:
    try:
        return channel_settings(kind, settings)
    except ServiceError as refused:
        raise _permanent(str(refused), str(refused)) from refused


def _permanent(zh: str, en: str) -> DeliveryError:
    """A failure trying again cannot mend: the event is dead at once, with the reason."""
    return DeliveryError(f"{en} / {zh}" if zh != en else en, retryable=False)


def _listed(value: Any) -> list[Any]:
    """``via:`` as a list (one word is a list of one; absent: the inbox only)."""
    if value is None:
        return ["inbox"]
    return [value] if isinstance(value, str) else list(value) if isinstance(value, list) else []
