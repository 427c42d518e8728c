"""Deliverers of the messages rules queue (``rule.webhook``, ``rule.notify``): the
outbox dispatcher calls them after commit (engine/service/dispatcher.py) and they send
through the delivery channels (engine/service/delivery/).

A rule's action names the channel and its settings::

    - webhook: {url: "https://erp.example.cn/hooks/orders", secret: "s3cret", timeout: 10}
    - notify:
        channel: dingtalk          # dingtalk | wecom | feishu | webhook
        url: "https://oapi.dingtalk.com/robot/send?access_token=..."
        secret: "SEC..."
        title: "新订单 {{ record.serial }}"
        message: "{{ record.title }}：金额 {{ record.total }}"

A webhook posts ``{"rule", "app", "form", "record_id", "record"}`` signed with the
secret; a robot gets the rendered title and message. Settings that cannot be used (no
URL, an unknown key, a broken template) make the event dead at once with the reason,
listed by ``lowcode outbox --failed`` and replayable once the rule is fixed. Messages to
people of the organisation (``to:``: in-app and e-mail) come with the notifications
centre; until then such an event is kept as failed, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.errors import ServiceError
from engine.service.delivery import (
    DeliveryError,
    DeliveryResult,
    Message,
    MessageTemplate,
    channel_settings,
    deliver,
    template_values,
)
from engine.store.outbox import OutboxEvent

#: the keys of a notify action that are the channel's settings
SETTING_KEYS = ("url", "secret", "timeout")
ROBOTS = ("dingtalk", "wecom", "feishu", "webhook")


def register_rule_deliverers(dispatcher: Any) -> None:
    """Deliver ``rule.webhook`` and ``rule.notify`` events through ``dispatcher``."""
    dispatcher.register("rule.webhook", deliver_rule_webhook)
    dispatcher.register("rule.notify", deliver_rule_notify)


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
            "通知给组织中的人员（to:）将随通知中心提供；目前请用 channel: dingtalk/wecom/feishu/webhook",
            "notifying people of the organisation (to:) comes with the notifications centre; "
            "for now give channel: dingtalk, wecom, feishu or webhook",
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
