"""The channels: e-mail over SMTP, DingTalk / WeCom / Feishu group robots, webhooks.

Each ``send_*`` takes its checked settings (:mod:`.settings`), a rendered
:class:`~.message.Message` and the event's idempotency key, makes one attempt, and
returns a :class:`~.message.DeliveryResult` or raises a
:class:`~.errors.DeliveryError` saying whether another attempt may help. None retries
by itself: the outbox dispatcher owns attempts and back-off (:mod:`.retry`).
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
import time
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any
from urllib.parse import urlencode, urlsplit

from engine.service.delivery.errors import DeliveryError, both
from engine.service.delivery.http import HttpAnswer, answer_error, encode_json, post_json
from engine.service.delivery.message import DeliveryResult, Message, excerpt
from engine.service.delivery.settings import (
    ChannelSettings,
    MailSettings,
    RobotSettings,
    WebhookSettings,
    check_host,
    check_sender,
    invalid,
)
from engine.service.delivery.signing import dingtalk_sign, feishu_sign, webhook_signature

#: the idempotency header of mail and webhooks (the outbox event's key)
IDEMPOTENCY_HEADER = "X-Lowcode-Idempotency-Key"

#: robot error codes worth another attempt: "system busy" and rate limits (DingTalk
#: 130101 "send too fast", WeCom 45009 "api freq out of limit", Feishu 11232 "frequency
#: limited"); any other non-zero code (wrong token, signature, keyword, body) is permanent
RETRYABLE_ROBOT_CODES = {"dingtalk": {-1, 130101}, "wecom": {-1, 45009}, "feishu": {-1, 11232}}


def _check_message(message: object) -> Message:
    if not isinstance(message, Message):
        raise invalid("message", message, "a delivery Message")
    return message


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not key or len(key) > 200 or not key.isprintable():
        raise invalid("idempotency_key", key, "printable text of 1 to 200 characters")
    return key


# -- e-mail ----------------------------------------------------------------------------


def build_mail(
    settings: MailSettings, message: Message, idempotency_key: str, *, now: float | None = None
) -> EmailMessage:
    """The mail as it is sent: UTF-8 headers (a Chinese subject and names are RFC 2047
    encoded on the wire), plain text with an HTML alternative when there is one, a
    ``Message-ID`` derived from the idempotency key (a re-sent mail keeps its id, so
    mail clients show it once) and the ``X-Lowcode-Idempotency-Key`` header."""
    if not message.to:
        raise invalid("message.to", message.to, "at least one recipient")
    for n, recipient in enumerate(message.to):
        check_sender(recipient, f"message.to[{n}]")
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = settings.sender
    mail["To"] = ", ".join(message.to)
    mail["Date"] = formatdate(now, localtime=False, usegmt=True)
    domain = parseaddr(settings.sender)[1].rpartition("@")[2] or "localhost"
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    mail["Message-ID"] = f"<{digest}@{domain}>"
    mail[IDEMPOTENCY_HEADER] = idempotency_key
    mail.set_content(message.text or "")
    if message.html:
        mail.add_alternative(message.html, subtype="html")
    return mail


def send_mail(settings: MailSettings, message: Message, *, idempotency_key: str) -> DeliveryResult:
    """Send ``message`` to ``message.to`` through ``settings`` (one SMTP session).

    SMTP 4xx answers, timeouts and refused connections are retryable; 5xx answers (an
    unknown recipient, a refused login) are permanent. A mail that some but not all
    recipients got counts as delivered; ``details["refused"]`` names the others.
    """
    if not isinstance(settings, MailSettings):
        raise invalid("settings", settings, "MailSettings (channel_settings('mail', ...))")
    message = _check_message(message)
    mail = build_mail(settings, message, _check_key(idempotency_key))
    started = time.monotonic()
    context = ssl.create_default_context()
    try:
        if settings.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            client.ehlo()
            if settings.scheme == "smtp" and client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
            if settings.username:
                client.login(settings.username, settings.password)
            refused = client.send_message(mail)
            code, answer = client.noop()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [c for c, _ in exc.recipients.values()]
        raise _smtp_error(started, min(codes, default=550), str(exc.recipients)) from exc
    except smtplib.SMTPResponseException as exc:
        text = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        raise _smtp_error(started, exc.smtp_code, text) from exc
    except smtplib.SMTPNotSupportedError as exc:  # e.g. AUTH not offered: fix the settings
        raise DeliveryError(
            both(
                f"邮件服务器 {settings.host} 不支持：{exc}",
                f"the mail server {settings.host} does not support this: {exc}",
            ),
            retryable=False,
            channel="mail",
            duration=time.monotonic() - started,
        ) from exc
    except TimeoutError as exc:
        raise DeliveryError(
            both(
                f"邮件服务器 {settings.host} 未应答",
                f"the mail server {settings.host} did not answer",
            ),
            retryable=True,
            channel="mail",
            duration=time.monotonic() - started,
        ) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(
            both(
                f"无法连接邮件服务器 {settings.host}：{exc}",
                f"cannot reach the mail server {settings.host}: {exc}",
            ),
            retryable=True,
            channel="mail",
            duration=time.monotonic() - started,
        ) from exc
    return DeliveryResult(
        channel="mail",
        status=250,
        body_excerpt=excerpt(f"{code} {answer.decode(errors='replace')}"),
        duration=time.monotonic() - started,
        details={
            "message_id": mail["Message-ID"],
            "refused": {k: v[0] for k, v in refused.items()},
        },
    )


def _smtp_error(started: float, code: int, text: str) -> DeliveryError:
    return DeliveryError(
        both(f"邮件服务器拒绝：{code} {text}", f"the mail server refused: {code} {text}"),
        retryable=400 <= code < 500,
        channel="mail",
        status=code,
        body_excerpt=excerpt(text),
        duration=time.monotonic() - started,
    )


# -- group robots ----------------------------------------------------------------------


def robot_body(kind: str, message: Message) -> dict[str, Any]:
    """The JSON a robot gets: markdown when the message has it, text otherwise.

    * dingtalk: ``{"msgtype": "markdown", "markdown": {"title", "text"}}`` or
      ``{"msgtype": "text", "text": {"content"}}``
    * wecom: ``{"msgtype": "markdown", "markdown": {"content"}}`` or
      ``{"msgtype": "text", "text": {"content"}}``
    * feishu: ``{"msg_type": "interactive", "card": {...}}`` (a card with the subject
      as header and one markdown element) or ``{"msg_type": "text", "content": {"text"}}``
    """
    markdown = message.markdown
    if kind == "dingtalk":
        if markdown:
            return {
                "msgtype": "markdown",
                "markdown": {"title": message.subject or "通知", "text": markdown},
            }
        return {"msgtype": "text", "text": {"content": message.text}}
    if kind == "wecom":
        if markdown:
            return {"msgtype": "markdown", "markdown": {"content": markdown}}
        return {"msgtype": "text", "text": {"content": message.text}}
    if markdown:
        card = {
            "header": {"title": {"tag": "plain_text", "content": message.subject or "通知"}},
            "elements": [{"tag": "markdown", "content": markdown}],
        }
        return {"msg_type": "interactive", "card": card}
    return {"msg_type": "text", "content": {"text": message.text}}


def _send_robot(
    settings: RobotSettings, kind: str, message: Message, idempotency_key: str, now: float | None
) -> DeliveryResult:
    if not isinstance(settings, RobotSettings) or settings.kind != kind:
        raise invalid("settings", settings, f"RobotSettings (channel_settings('{kind}', ...))")
    message = _check_message(message)
    _check_key(idempotency_key)
    if not settings.allow_private_hosts:
        check_host(settings.url, f"{kind}.url")
    body = robot_body(kind, message)
    url = settings.url
    current = time.time() if now is None else now
    if settings.secret and kind == "dingtalk":
        stamp = int(current * 1000)
        query = urlencode({"timestamp": stamp, "sign": dingtalk_sign(settings.secret, stamp)})
        url = f"{url}{'&' if urlsplit(url).query else '?'}{query}"
    elif settings.secret and kind == "feishu":
        stamp = int(current)
        body = {"timestamp": str(stamp), "sign": feishu_sign(settings.secret, stamp), **body}
    answer = post_json(url, body, timeout=settings.timeout, channel=kind)
    return _robot_result(kind, answer)


def _robot_result(kind: str, answer: HttpAnswer) -> DeliveryResult:
    if answer.status != 200:
        raise answer_error(kind, answer)
    data = answer.json()
    field = "code" if kind == "feishu" else "errcode"
    code = data.get(field, data.get("StatusCode")) if isinstance(data, dict) else None
    if code == 0:
        return DeliveryResult(
            kind, answer.status, excerpt(answer.text), answer.duration, {field: 0}
        )
    if not isinstance(code, int):
        raise DeliveryError(
            both(
                "机器人的应答不是预期的 JSON",
                f"the robot's answer is not the expected JSON (no {field})",
            ),
            retryable=False,
            channel=kind,
            status=answer.status,
            body_excerpt=excerpt(answer.text),
            duration=answer.duration,
        )
    msg = data.get("errmsg", data.get("msg", "")) if isinstance(data, dict) else ""
    raise DeliveryError(
        both(f"机器人拒绝：{field} {code} {msg}", f"the robot refused: {field} {code} {msg}"),
        retryable=code in RETRYABLE_ROBOT_CODES[kind],
        channel=kind,
        status=answer.status,
        body_excerpt=excerpt(answer.text),
        duration=answer.duration,
    )


def send_dingtalk(
    settings: RobotSettings, message: Message, *, idempotency_key: str, now: float | None = None
) -> DeliveryResult:
    """Post to a DingTalk group robot (signed with ``timestamp`` in ms and ``sign`` query
    parameters when it has a secret); ``errcode`` 0 is success. ``now`` (epoch seconds)
    is for tests."""
    return _send_robot(settings, "dingtalk", message, idempotency_key, now)


def send_wecom(
    settings: RobotSettings, message: Message, *, idempotency_key: str, now: float | None = None
) -> DeliveryResult:
    """Post to a WeCom (企业微信) group robot's key URL; ``errcode`` 0 is success."""
    return _send_robot(settings, "wecom", message, idempotency_key, now)


def send_feishu(
    settings: RobotSettings, message: Message, *, idempotency_key: str, now: float | None = None
) -> DeliveryResult:
    """Post to a Feishu / Lark custom bot (``timestamp`` in s and ``sign`` body fields
    when it has a secret); ``code`` 0 is success."""
    return _send_robot(settings, "feishu", message, idempotency_key, now)


# -- webhooks --------------------------------------------------------------------------


def webhook_request(
    settings: WebhookSettings,
    event: str,
    payload: Mapping[str, Any],
    idempotency_key: str,
    now: float,
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a webhook POST (the body is what is signed, byte for byte)."""
    body = encode_json(dict(payload))
    stamp = int(now)
    headers = {
        "X-Lowcode-Event": event,
        IDEMPOTENCY_HEADER: idempotency_key,
        "X-Lowcode-Timestamp": str(stamp),
    }
    if settings.secret:
        headers["X-Lowcode-Signature"] = webhook_signature(settings.secret, stamp, body)
    return body, headers


def send_webhook(
    settings: WebhookSettings,
    message: Message,
    *,
    idempotency_key: str,
    event: str = "",
    now: float | None = None,
) -> DeliveryResult:
    """POST ``message.payload`` (or ``{"subject", "text"}``) as JSON to the webhook, with
    ``X-Lowcode-Event``, ``X-Lowcode-Idempotency-Key``, ``X-Lowcode-Timestamp`` and, with a
    secret, ``X-Lowcode-Signature``. Any 2xx is success; 5xx, 408, 429 and no answer
    are retryable; other statuses (redirects are not followed) permanent."""
    if not isinstance(settings, WebhookSettings):
        raise invalid("settings", settings, "WebhookSettings (channel_settings('webhook', ...))")
    message = _check_message(message)
    _check_key(idempotency_key)
    if not isinstance(event, str) or not event.isprintable() or len(event) > 200:
        raise invalid("event", event, "printable text of at most 200 characters")
    if not settings.allow_private_hosts:
        check_host(settings.url, "webhook.url")
    payload = (
        message.payload
        if message.payload is not None
        else {"subject": message.subject, "text": message.text}
    )
    if not isinstance(payload, Mapping):
        raise invalid("message.payload", payload, "a mapping (the JSON object sent)")
    body, headers = webhook_request(
        settings, event, payload, idempotency_key, time.time() if now is None else now
    )
    answer = post_json(
        settings.url, body, headers=headers, timeout=settings.timeout, channel="webhook"
    )
    if not 200 <= answer.status < 300:
        raise answer_error("webhook", answer)
    return DeliveryResult("webhook", answer.status, excerpt(answer.text), answer.duration)


# -- one entry point -------------------------------------------------------------------


def deliver(
    settings: ChannelSettings,
    message: Message,
    *,
    idempotency_key: str,
    event: str = "",
    now: float | None = None,
) -> DeliveryResult:
    """One attempt on the channel ``settings`` describe (see the ``send_*`` functions)."""
    if isinstance(settings, MailSettings):
        return send_mail(settings, message, idempotency_key=idempotency_key)
    if isinstance(settings, WebhookSettings):
        return send_webhook(
            settings, message, idempotency_key=idempotency_key, event=event, now=now
        )
    if isinstance(settings, RobotSettings):
        return _send_robot(settings, settings.kind, message, idempotency_key, now)
    raise invalid("settings", settings, "settings from channel_settings()")
