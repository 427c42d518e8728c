"""DingTalk, WeCom and Feishu group robots, posted to a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from engine.service.delivery import (
    DeliveryError,
    Message,
    channel_settings,
    deliver,
    dingtalk_sign,
    feishu_sign,
    send_dingtalk,
    send_feishu,
    send_wecom,
)

MARKDOWN = Message(
    subject="新订单 SO-0001",
    text="新订单 SO-0001",
    markdown="### 新订单\n- 客户：华东经销商\n- 金额：¥1,200.00",
)
TEXT = Message(subject="提醒", text="合同 C-9 将于 30 天后到期")


def test_dingtalk_signs_with_ms_timestamp_and_sends_markdown(http_receiver) -> None:
    settings = channel_settings(
        "dingtalk",
        {"url": http_receiver.url + "/robot/send?access_token=abc", "secret": "SECtest密钥"},
    )
    result = send_dingtalk(settings, MARKDOWN, idempotency_key="outbox:1", now=1_765_000_000.123)
    assert (result.channel, result.status) == ("dingtalk", 200)
    assert result.body_excerpt == '{"errcode": 0, "errmsg": "ok"}'
    [request] = http_receiver.requests
    assert request.path == "/robot/send"
    assert request.query["access_token"] == ["abc"]
    assert request.query["timestamp"] == ["1765000000123"]
    # recomputed here from DingTalk's documented algorithm and the received timestamp
    stamp = request.query["timestamp"][0]
    digest = hmac.new(
        b"SECtest\xe5\xaf\x86\xe9\x92\xa5", f"{stamp}\nSECtest密钥".encode(), hashlib.sha256
    ).digest()
    assert request.query["sign"] == [
        base64.b64encode(digest).decode()
    ]  # parse_qs undid the URL-encoding
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.json() == {
        "msgtype": "markdown",
        "markdown": {
            "title": "新订单 SO-0001",
            "text": "### 新订单\n- 客户：华东经销商\n- 金额：¥1,200.00",
        },
    }
    assert "华东经销商".encode() in request.body  # UTF-8, not \u-escaped


def test_dingtalk_sign_is_url_encoded_on_the_wire(http_receiver) -> None:
    # a timestamp whose signature holds + or / shows the encoding
    for now in range(1_765_000_000, 1_765_000_050):
        if any(c in dingtalk_sign("s", now * 1000) for c in "+/"):
            break
    settings = channel_settings(
        "dingtalk", {"url": http_receiver.url + "/robot/send?access_token=abc", "secret": "s"}
    )
    send_dingtalk(settings, TEXT, idempotency_key="k", now=now)
    raw_query = http_receiver.requests[0]
    sign = dingtalk_sign("s", now * 1000)
    assert raw_query.query["sign"] == [sign]
    assert raw_query.json() == {"msgtype": "text", "text": {"content": "合同 C-9 将于 30 天后到期"}}


def test_dingtalk_without_secret_is_not_signed(http_receiver) -> None:
    settings = channel_settings(
        "dingtalk", {"url": http_receiver.url + "/robot/send?access_token=abc"}
    )
    send_dingtalk(settings, TEXT, idempotency_key="k")
    assert set(http_receiver.requests[0].query) == {"access_token"}


def test_dingtalk_errcodes(http_receiver) -> None:
    settings = channel_settings(
        "dingtalk", {"url": http_receiver.url + "/robot/send?access_token=abc"}
    )
    http_receiver.script = [
        (200, {"errcode": 310000, "errmsg": "sign not match"}),
        (200, {"errcode": 130101, "errmsg": "send too fast"}),
        (200, b"not json"),
    ]
    with pytest.raises(DeliveryError) as wrong_sign:
        send_dingtalk(settings, TEXT, idempotency_key="k")
    assert wrong_sign.value.retryable is False and "310000" in str(wrong_sign.value)
    with pytest.raises(DeliveryError) as too_fast:
        send_dingtalk(settings, TEXT, idempotency_key="k")
    assert too_fast.value.retryable is True
    with pytest.raises(DeliveryError) as not_json:
        send_dingtalk(settings, TEXT, idempotency_key="k")
    assert not_json.value.retryable is False and not_json.value.body_excerpt == "not json"


def test_wecom_markdown_and_text(http_receiver) -> None:
    settings = channel_settings(
        "wecom", {"url": http_receiver.url + "/cgi-bin/webhook/send?key=KEY-1"}
    )
    result = deliver(settings, MARKDOWN, idempotency_key="k")
    send_wecom(settings, TEXT, idempotency_key="k")
    assert result.channel == "wecom"
    first, second = http_receiver.requests
    assert first.query == {"key": ["KEY-1"]}
    assert first.json() == {"msgtype": "markdown", "markdown": {"content": MARKDOWN.markdown}}
    assert second.json() == {"msgtype": "text", "text": {"content": "合同 C-9 将于 30 天后到期"}}


def test_wecom_rate_limit_retries_and_bad_key_is_permanent(http_receiver) -> None:
    settings = channel_settings(
        "wecom", {"url": http_receiver.url + "/cgi-bin/webhook/send?key=KEY-1"}
    )
    http_receiver.script = [
        (200, {"errcode": 45009, "errmsg": "api freq out of limit"}),
        (200, {"errcode": 93000, "errmsg": "invalid webhook url"}),
    ]
    with pytest.raises(DeliveryError) as limited:
        send_wecom(settings, TEXT, idempotency_key="k")
    with pytest.raises(DeliveryError) as bad_key:
        send_wecom(settings, TEXT, idempotency_key="k")
    assert (limited.value.retryable, bad_key.value.retryable) == (True, False)


def test_feishu_signs_in_the_body_with_seconds(http_receiver) -> None:
    http_receiver.script = [(200, {"code": 0, "msg": "success", "data": {}})]
    settings = channel_settings(
        "feishu", {"url": http_receiver.url + "/open-apis/bot/v2/hook/HOOK", "secret": "飞书secret"}
    )
    result = send_feishu(settings, TEXT, idempotency_key="k", now=1_765_000_000.9)
    assert result.channel == "feishu" and result.details == {"code": 0}
    body = http_receiver.requests[0].json()
    assert body["timestamp"] == "1765000000"
    # Feishu's documented algorithm: key = "timestamp\nsecret", message empty
    key = f"{body['timestamp']}\n飞书secret".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["sign"] == feishu_sign("飞书secret", 1_765_000_000)
    assert body == {
        "timestamp": "1765000000",
        "sign": body["sign"],
        "msg_type": "text",
        "content": {"text": "合同 C-9 将于 30 天后到期"},
    }


def test_feishu_markdown_is_an_interactive_card(http_receiver) -> None:
    http_receiver.script = [
        (200, {"code": 0, "msg": "success"}),
        (200, {"code": 19021, "msg": "sign match fail"}),
    ]
    settings = channel_settings(
        "feishu", {"url": http_receiver.url + "/open-apis/bot/v2/hook/HOOK"}
    )
    send_feishu(settings, MARKDOWN, idempotency_key="k")
    assert http_receiver.requests[0].json() == {
        "msg_type": "interactive",
        "card": {
            "header": {"title": {"tag": "plain_text", "content": "新订单 SO-0001"}},
            "elements": [{"tag": "markdown", "content": MARKDOWN.markdown}],
        },
    }
    with pytest.raises(DeliveryError) as refused:
        send_feishu(settings, MARKDOWN, idempotency_key="k")
    assert refused.value.retryable is False and "19021" in str(refused.value)


def test_robot_http_errors(http_receiver) -> None:
    settings = channel_settings("wecom", {"url": http_receiver.url + "/send?key=K"})
    http_receiver.script = [(502, b"bad gateway"), (404, b"no such hook")]
    with pytest.raises(DeliveryError) as gateway:
        send_wecom(settings, TEXT, idempotency_key="k")
    with pytest.raises(DeliveryError) as missing:
        send_wecom(settings, TEXT, idempotency_key="k")
    assert (gateway.value.retryable, gateway.value.status) == (True, 502)
    assert (missing.value.retryable, missing.value.status, missing.value.body_excerpt) == (
        False,
        404,
        "no such hook",
    )
