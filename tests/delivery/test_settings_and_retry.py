"""Settings refused up front, and the retry policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.errors import InvalidArgumentError
from engine.service.delivery import (
    DeliveryError,
    Message,
    RobotSettings,
    WebhookSettings,
    channel_settings,
    next_attempt_at,
    send_webhook,
)
from engine.store.outbox import MAX_ATTEMPTS

NOW = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "settings", "argument"),
    [
        ("webhook", {"url": "file:///etc/passwd"}, "webhook.url"),
        ("webhook", {"url": "ftp://example.com/x"}, "webhook.url"),
        ("webhook", {"url": "http:///no-host"}, "webhook.url"),
        ("webhook", {"url": "http://example.com:99999/"}, "webhook.url"),
        ("webhook", {"url": "http://example.com/a b"}, "webhook.url"),
        ("webhook", {"url": "http://127.0.0.1/h", "allow_private_hosts": False}, "webhook.url"),
        ("webhook", {"url": "http://10.0.0.8/h", "allow_private_hosts": False}, "webhook.url"),
        ("webhook", {"url": "http://[::1]/h", "allow_private_hosts": False}, "webhook.url"),
        (
            "webhook",
            {"url": "https://example.com/h", "allow_private_hosts": "no"},
            "webhook.allow_private_hosts",
        ),
        ("webhook", {"url": "https://example.com/h", "timeout": 0}, "webhook.timeout"),
        ("webhook", {"url": "https://example.com/h", "timeout": 600}, "webhook.timeout"),
        ("webhook", {"url": "https://example.com/h", "secert": "x"}, "webhook.secert"),
        (
            "dingtalk",
            {"url": "https://oapi.dingtalk.com/robot/send", "secret": 5},
            "dingtalk.secret",
        ),
        ("feishu", {"url": "https://u:p@open.feishu.cn/x"}, "feishu.url"),
        ("webhook", {"url": "https://user@example.com/x"}, "webhook.url"),
        ("mail", {"url": "http://mail.example.com"}, "mail.url"),
        ("sms", {"url": "https://example.com"}, "kind"),
    ],
)
def test_hostile_or_wrong_settings_are_refused(kind, settings, argument) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        channel_settings(kind, settings)
    assert caught.value.argument == argument
    assert "：应为" in str(caught.value) and ": expected" in str(caught.value)


def test_settings_are_parsed_with_defaults() -> None:
    hook = channel_settings("webhook", {"url": "https://example.com/h", "secret": "s"})
    assert hook == WebhookSettings(
        url="https://example.com/h", secret="s", timeout=10.0, allow_private_hosts=True
    )
    robot = channel_settings(
        "dingtalk", {"url": "https://oapi.dingtalk.com/robot/send?access_token=T", "timeout": 3}
    )
    assert robot == RobotSettings(
        kind="dingtalk", url="https://oapi.dingtalk.com/robot/send?access_token=T", timeout=3.0
    )
    assert "access_token" not in repr(robot)


def test_a_name_resolving_to_loopback_is_refused_before_sending() -> None:
    settings = channel_settings(
        "webhook", {"url": "http://localhost:9/h", "allow_private_hosts": False}
    )
    with pytest.raises(InvalidArgumentError) as caught:
        send_webhook(settings, Message(payload={}), idempotency_key="k", event="e")
    assert caught.value.code == "private_host"


def test_back_off_follows_the_outbox() -> None:
    error = DeliveryError("x", retryable=True)
    waits = [next_attempt_at(n, error, NOW) - NOW for n in range(1, MAX_ATTEMPTS)]
    assert waits[:4] == [
        timedelta(seconds=30),
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
    ]
    assert waits[-1] == timedelta(hours=1)
    assert next_attempt_at(MAX_ATTEMPTS, error, NOW) is None
    assert next_attempt_at(1, DeliveryError("x", retryable=False), NOW) is None
    assert next_attempt_at(2, ValueError("unexpected"), NOW) == NOW + timedelta(minutes=1)
    assert next_attempt_at(3, error, NOW) == next_attempt_at(3, error, NOW)  # no jitter


@pytest.mark.parametrize(
    ("args", "argument"),
    [
        ((0, DeliveryError("x", retryable=True), NOW), "attempts"),
        ((True, DeliveryError("x", retryable=True), NOW), "attempts"),
        ((1, "error", NOW), "error"),
        ((1, DeliveryError("x", retryable=True), datetime(2026, 1, 1)), "now"),
    ],
)
def test_retry_arguments_are_checked(args, argument) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        next_attempt_at(*args)
    assert caught.value.argument == argument


def test_channel_arguments_are_checked() -> None:
    hook = channel_settings("webhook", {"url": "http://127.0.0.1:9/h"})
    with pytest.raises(InvalidArgumentError) as message:
        send_webhook(hook, {"payload": {}}, idempotency_key="k")
    with pytest.raises(InvalidArgumentError) as key:
        send_webhook(hook, Message(), idempotency_key="")
    with pytest.raises(InvalidArgumentError) as event:
        send_webhook(hook, Message(), idempotency_key="k", event="a\nb")
    assert (message.value.argument, key.value.argument, event.value.argument) == (
        "message",
        "idempotency_key",
        "event",
    )
