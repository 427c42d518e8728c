"""E-mail through a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy

import pytest

from engine.errors import InvalidArgumentError
from engine.service.delivery import (
    DeliveryError,
    Message,
    channel_settings,
    deliver,
    parse_mail_url,
    send_mail,
)

MESSAGE = Message(
    subject="订单 SO-0001 已审批",
    text="张三 审批了订单 SO-0001。\nhttp://127.0.0.1/apps/channel/orders/1\n",
    html="<p>张三 审批了订单 <b>SO-0001</b>。</p>\n",
    to=("李四 <lisi@example.com>", "wang@example.com"),
)


def _settings(box, **extra):
    return channel_settings(
        "mail",
        {
            "url": f"smtp://{box.host}:{box.port}",
            "sender": "低代码平台 <lowcode@example.com>",
            **extra,
        },
    )


def test_a_chinese_mail_arrives_with_exact_headers_and_both_parts(smtp_server) -> None:
    result = send_mail(_settings(smtp_server), MESSAGE, idempotency_key="outbox:42")
    assert result.channel == "mail" and result.status == 250
    assert result.details["refused"] == {}
    [envelope] = smtp_server.messages
    assert envelope.mail_from == "lowcode@example.com"
    assert envelope.rcpt_tos == ["lisi@example.com", "wang@example.com"]
    raw = envelope.original_content
    raw_headers = raw.split(b"\r\n\r\n")[0].decode("ascii")  # every header is ASCII on the wire
    assert "Subject: =?utf-8?b?" in raw_headers
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail["Subject"] == "订单 SO-0001 已审批"
    assert mail["From"] == "低代码平台 <lowcode@example.com>"
    assert mail["From"].addresses[0].display_name == "低代码平台"
    assert mail["To"] == "李四 <lisi@example.com>, wang@example.com"
    assert mail["X-Lowcode-Idempotency-Key"] == "outbox:42"
    assert mail["Message-ID"] == result.details["message_id"]
    assert mail["Message-ID"].endswith("@example.com>") and len(mail["Message-ID"]) == 46
    assert mail.get_content_type() == "multipart/alternative"
    plain, html = mail.iter_parts()
    assert plain.get_content_type() == "text/plain" and plain.get_content_charset() == "utf-8"
    assert plain.get_content().replace("\r\n", "\n") == MESSAGE.text
    assert html.get_content_type() == "text/html"
    assert html.get_content().replace("\r\n", "\n") == MESSAGE.html


def test_the_same_key_gives_the_same_message_id(smtp_server) -> None:
    settings = _settings(smtp_server)
    first = send_mail(settings, MESSAGE, idempotency_key="outbox:7")
    again = deliver(settings, MESSAGE, idempotency_key="outbox:7")
    other = send_mail(settings, MESSAGE, idempotency_key="outbox:8")
    assert first.details["message_id"] == again.details["message_id"]
    assert other.details["message_id"] != first.details["message_id"]
    assert len(smtp_server.messages) == 3


def test_a_text_only_mail_is_a_single_plain_part(smtp_server) -> None:
    send_mail(
        _settings(smtp_server),
        Message(subject="提醒", text="明天请假", to=("a@example.com",)),
        idempotency_key="k",
    )
    mail = email.message_from_bytes(
        smtp_server.messages[0].original_content, policy=email.policy.default
    )
    assert mail.get_content_type() == "text/plain"
    assert mail.get_content() == "明天请假\r\n"


def test_login_with_percent_encoded_password(smtp_server) -> None:
    settings = channel_settings(
        "mail", {"url": f"smtp://mailer:p%40ss%20word@{smtp_server.host}:{smtp_server.port}"}
    )
    assert settings.password == "p@ss word" and "p@ss" not in repr(settings)
    send_mail(settings, Message(subject="s", text="t", to=("a@example.com",)), idempotency_key="k")
    assert smtp_server.logins == [("mailer", "p@ss word")]
    assert len(smtp_server.messages) == 1


def test_a_wrong_password_is_permanent(smtp_server) -> None:
    settings = channel_settings(
        "mail", {"url": f"smtp://mailer:wrong@{smtp_server.host}:{smtp_server.port}"}
    )
    with pytest.raises(DeliveryError) as caught:
        send_mail(
            settings, Message(subject="s", text="t", to=("a@example.com",)), idempotency_key="k"
        )
    assert caught.value.retryable is False and caught.value.status == 535
    assert smtp_server.messages == []


def test_recipient_refusals_4xx_retry_5xx_permanent(smtp_server) -> None:
    smtp_server.rcpt_answers = {
        "busy@example.com": "451 try again later",
        "nobody@example.com": "550 no such user",
    }
    settings = _settings(smtp_server)
    with pytest.raises(DeliveryError) as busy:
        send_mail(
            settings, Message(subject="s", text="t", to=("busy@example.com",)), idempotency_key="k"
        )
    assert busy.value.retryable is True and busy.value.status == 451
    with pytest.raises(DeliveryError) as nobody:
        send_mail(
            settings,
            Message(subject="s", text="t", to=("nobody@example.com",)),
            idempotency_key="k",
        )
    assert nobody.value.retryable is False and nobody.value.status == 550
    partly = send_mail(
        settings,
        Message(subject="s", text="t", to=("a@example.com", "nobody@example.com")),
        idempotency_key="k",
    )
    assert partly.details["refused"] == {"nobody@example.com": 550}
    assert smtp_server.messages[-1].rcpt_tos == ["a@example.com"]


def test_no_server_is_retryable(closed_port) -> None:
    settings = channel_settings("mail", {"url": f"smtp://127.0.0.1:{closed_port}", "timeout": 2})
    with pytest.raises(DeliveryError) as caught:
        send_mail(
            settings, Message(subject="s", text="t", to=("a@example.com",)), idempotency_key="k"
        )
    assert caught.value.retryable is True and caught.value.channel == "mail"
    assert "127.0.0.1" in str(caught.value)


def test_mail_url_parser() -> None:
    assert parse_mail_url("smtps://u:p@mail.example.com", "x@example.com").port == 465
    plain = parse_mail_url("smtp://mail.example.com")
    assert (plain.scheme, plain.host, plain.port, plain.username) == (
        "smtp",
        "mail.example.com",
        25,
        "",
    )
    for bad in ("http://mail.example.com", "smtp://", "smtp://host:99999", "", None):
        with pytest.raises(InvalidArgumentError) as caught:
            parse_mail_url(bad)
        assert caught.value.argument == "MAIL_URL"
    with pytest.raises(InvalidArgumentError) as non_ascii:
        parse_mail_url("smtp://user:%E8%AF%8D@h")
    assert "ASCII" in str(non_ascii.value) and "%E8" not in str(non_ascii.value)
    with pytest.raises(InvalidArgumentError) as sender:
        parse_mail_url("smtp://h", "not an address\r\nBcc: x@y")
    assert sender.value.argument == "MAIL_FROM"


def test_a_recipient_with_a_header_injection_is_refused(smtp_server) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        send_mail(
            _settings(smtp_server),
            Message(subject="s", text="t", to=("a@x.com\r\nBcc: b@x.com",)),
            idempotency_key="k",
        )
    assert caught.value.argument == "message.to[0]"
    assert smtp_server.messages == []


def test_starttls_is_used_when_offered_before_the_login(
    starttls_server, trust_test_certificate
) -> None:
    box = starttls_server
    settings = channel_settings(
        "mail", {"url": f"smtp://mailer:p%40ss%20word@{box.host}:{box.port}"}
    )
    send_mail(
        settings, Message(subject="加密", text="t", to=("a@example.com",)), idempotency_key="k"
    )
    # the server accepts AUTH only after STARTTLS (auth_require_tls)
    assert box.logins == [("mailer", "p@ss word")]
    assert box.messages[0].rcpt_tos == ["a@example.com"]


def test_starttls_with_an_untrusted_certificate_fails_retryably(starttls_server) -> None:
    box = starttls_server
    settings = channel_settings("mail", {"url": f"smtp://{box.host}:{box.port}", "timeout": 5})
    with pytest.raises(DeliveryError) as caught:
        send_mail(
            settings, Message(subject="s", text="t", to=("a@example.com",)), idempotency_key="k"
        )
    assert caught.value.retryable is True and "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert box.messages == []


def test_smtps_speaks_tls_from_the_start(smtps_server, trust_test_certificate) -> None:
    box = smtps_server
    settings = channel_settings(
        "mail", {"url": f"smtps://mailer:p%40ss%20word@{box.host}:{box.port}"}
    )
    result = send_mail(
        settings, Message(subject="加密", text="t", to=("a@example.com",)), idempotency_key="k"
    )
    assert result.status == 250 and box.logins == [("mailer", "p@ss word")]
    assert len(box.messages) == 1


def test_a_login_the_server_does_not_offer_is_permanent(no_auth_server) -> None:
    box = no_auth_server
    settings = channel_settings("mail", {"url": f"smtp://u:p@{box.host}:{box.port}", "timeout": 5})
    with pytest.raises(DeliveryError) as caught:
        send_mail(
            settings, Message(subject="s", text="t", to=("a@example.com",)), idempotency_key="k"
        )
    assert caught.value.retryable is False
    assert "SMTP AUTH extension not supported" in str(caught.value)
    assert box.messages == []
