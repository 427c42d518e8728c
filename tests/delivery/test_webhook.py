"""Webhooks to a real HTTP server on 127.0.0.1: body, headers, signature, retries, timeouts."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from engine.service.delivery import (
    DeliveryError,
    Message,
    channel_settings,
    deliver,
    next_attempt_at,
    post_json,
    send_webhook,
    verify_webhook_signature,
)

PAYLOAD = {
    "event": "order.approved",
    "record": {"id": 7, "客户": "华东经销商", "amount": "1200.00"},
}
NOW = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)


def test_a_signed_webhook_arrives_as_sent(http_receiver) -> None:
    http_receiver.script = [(202, {"received": True})]
    settings = channel_settings(
        "webhook", {"url": http_receiver.url + "/hooks/orders", "secret": "whsec-1"}
    )
    result = send_webhook(
        settings,
        Message(payload=PAYLOAD),
        idempotency_key="outbox:99",
        event="order.approved",
        now=1_765_000_000.5,
    )
    assert (result.channel, result.status, result.body_excerpt) == (
        "webhook",
        202,
        '{"received": true}',
    )
    assert 0 < result.duration < 5
    [request] = http_receiver.requests
    assert request.path == "/hooks/orders"
    assert request.body == json.dumps(PAYLOAD, ensure_ascii=False, separators=(",", ":")).encode()
    assert request.headers["x-lowcode-event"] == "order.approved"
    assert request.headers["x-lowcode-idempotency-key"] == "outbox:99"
    assert request.headers["x-lowcode-timestamp"] == "1765000000"
    expected = hmac.new(b"whsec-1", b"1765000000." + request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-lowcode-signature"] == "sha256=" + expected
    assert verify_webhook_signature(
        "whsec-1",
        request.headers["x-lowcode-timestamp"],
        request.body,
        request.headers["x-lowcode-signature"],
        now=1_765_000_100,
    )
    # a changed body, another secret or a stale timestamp do not verify
    stamp, sig = request.headers["x-lowcode-timestamp"], request.headers["x-lowcode-signature"]
    assert not verify_webhook_signature(
        "whsec-1", stamp, request.body + b" ", sig, now=1_765_000_100
    )
    assert not verify_webhook_signature("whsec-2", stamp, request.body, sig, now=1_765_000_100)
    assert not verify_webhook_signature("whsec-1", stamp, request.body, sig, now=1_765_000_400)


def test_without_secret_there_is_no_signature_and_text_becomes_the_body(http_receiver) -> None:
    http_receiver.script = [(200, b"ok")]
    settings = channel_settings("webhook", {"url": http_receiver.url + "/h"})
    deliver(settings, Message(subject="主题", text="正文"), idempotency_key="k-1", event="e")
    [request] = http_receiver.requests
    assert "x-lowcode-signature" not in request.headers
    assert request.json() == {"subject": "主题", "text": "正文"}


def test_fails_twice_then_succeeds(http_receiver) -> None:
    http_receiver.script = [(500, b"boom"), (503, b"busy"), (200, b"ok")]
    settings = channel_settings("webhook", {"url": http_receiver.url + "/h", "secret": "s"})
    outcomes = []
    when = NOW
    for attempt in range(1, 4):
        try:
            deliver(
                settings,
                Message(payload=PAYLOAD),
                idempotency_key="outbox:5",
                event="order.approved",
            )
            outcomes.append("ok")
            break
        except DeliveryError as error:
            outcomes.append("retry" if error.retryable else "permanent")
            assert error.status in (500, 503)
            when = next_attempt_at(attempt, error, when)
    assert outcomes == ["retry", "retry", "ok"]
    assert when == NOW + timedelta(seconds=30) + timedelta(seconds=60)
    keys = {r.headers["x-lowcode-idempotency-key"] for r in http_receiver.requests}
    assert keys == {"outbox:5"} and len(http_receiver.requests) == 3


def test_a_receiver_that_never_answers_times_out_retryably(http_receiver) -> None:
    http_receiver.script = ["hang"]
    settings = channel_settings("webhook", {"url": http_receiver.url + "/h", "timeout": 0.5})
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        send_webhook(settings, Message(payload=PAYLOAD), idempotency_key="k", event="e")
    elapsed = time.monotonic() - started
    assert caught.value.retryable is True and caught.value.status is None
    assert 0.45 <= elapsed < 1.5 and 0.45 <= caught.value.duration < 1.5
    assert "did not answer" in str(caught.value)


def test_a_400_is_permanent_with_the_answer_kept(http_receiver) -> None:
    http_receiver.script = [(400, {"error": "缺少字段 " + "x" * 2000})]
    settings = channel_settings("webhook", {"url": http_receiver.url + "/h"})
    with pytest.raises(DeliveryError) as caught:
        send_webhook(settings, Message(payload=PAYLOAD), idempotency_key="k", event="e")
    error = caught.value
    assert (error.retryable, error.status, len(error.body_excerpt)) == (False, 400, 1000)
    assert error.body_excerpt.startswith('{"error": "\\u7f3a')
    assert next_attempt_at(1, error, NOW) is None


def test_429_and_408_are_retryable(http_receiver) -> None:
    http_receiver.script = [(429, b"slow down"), (408, b"")]
    settings = channel_settings("webhook", {"url": http_receiver.url + "/h"})
    for status in (429, 408):
        with pytest.raises(DeliveryError) as caught:
            send_webhook(settings, Message(payload=PAYLOAD), idempotency_key="k", event="e")
        assert (caught.value.status, caught.value.retryable) == (status, True)


def test_redirects_are_not_followed(http_receiver) -> None:
    http_receiver.script = [(302, b"moved")]
    settings = channel_settings("webhook", {"url": http_receiver.url + "/h"})
    with pytest.raises(DeliveryError) as caught:
        send_webhook(settings, Message(payload=PAYLOAD), idempotency_key="k", event="e")
    assert (caught.value.status, caught.value.retryable) == (302, False)
    assert [r.path for r in http_receiver.requests] == ["/h"]


def test_a_refused_connection_is_retryable(closed_port) -> None:
    settings = channel_settings("webhook", {"url": f"http://127.0.0.1:{closed_port}/h"})
    with pytest.raises(DeliveryError) as caught:
        send_webhook(settings, Message(payload=PAYLOAD), idempotency_key="k", event="e")
    assert caught.value.retryable is True and "cannot reach" in str(caught.value)


def test_the_plain_client_posts_the_same_bytes(http_receiver) -> None:
    http_receiver.script = [(200, b'{"ok":1}')]
    answer = post_json(http_receiver.url + "/plain", PAYLOAD, headers={"X-Test": "1"}, timeout=5)
    assert (answer.status, answer.json()) == (200, {"ok": 1})
    assert http_receiver.requests[0].json() == PAYLOAD
    assert http_receiver.requests[0].headers["x-test"] == "1"
