"""Delivery channels: e-mail, DingTalk / WeCom / Feishu group robots and webhooks.

The outbox dispatcher calls these after commit, outside any transaction; this package
does no SQL, only SMTP and HTTP. Everything here is synchronous and thread-safe (no
shared state besides module constants), so a dispatcher may call it from worker threads.

Interface (what a dispatcher uses)
==================================

1. Render the message (``templates.py``)::

       from engine.service.delivery import Message, MessageTemplate, template_values

       subject = MessageTemplate("订单 {{ record.order_no }} 已审批", name="rules/order.yaml:12")
       body = MessageTemplate("{{ actor.name }} 审批了 {{ link }}", name="rules/order.yaml:13")
       html = MessageTemplate("<p>{{ record.customer }}</p>", name="...", html=True)
       values = template_values(record=record_values, link=url, actor={"id":..., "name":...})
       message = Message(subject=subject.render(values), text=body.render(values),
                         html=html.render(values), to=("张三 <zhang@example.com>",))

   A template is compiled (and checked) once, when the rule loads: a hostile template
   (``{{ ''.__class__ }}``, a macro) raises :class:`TemplateError` naming the template
   and line, and is never executed; one that would do too much (``'x' * 10**9``,
   ``range(10**9)``, nested loops past the work budget) is stopped while rendering with
   the same error. A missing
   variable renders as empty text (see docs/delivery.md); :meth:`MessageTemplate.variables`
   lists the names a template reads, so a loader may check them against the form.

2. Parse the channel's settings once, up front (``settings.py``)::

       settings = channel_settings("dingtalk", {"url": "https://oapi.dingtalk.com/robot/send?access_token=...",
                                                "secret": "SEC..."})
       # kinds: "mail" (MailSettings), "dingtalk", "wecom", "feishu" (RobotSettings),
       #        "webhook" (WebhookSettings)

   Wrong settings (a URL that is not http(s), a mail URL that is not smtp/smtps...) raise
   :class:`~engine.errors.InvalidArgumentError` naming the setting. ``parse_mail_url``
   is the one parser of MAIL_URL (``smtp://user:pass@host:port``, ``smtps://...``).

3. Deliver (``channels.py``)::

       result = deliver(settings, message, idempotency_key=event.idempotency_key,
                        event="order.approved")          # -> DeliveryResult
       # or per channel: send_mail, send_dingtalk, send_wecom, send_feishu, send_webhook

   ``deliver`` returns a :class:`DeliveryResult` (``channel``, ``status``: HTTP status or
   SMTP reply code, ``body_excerpt``: first 1,000 characters of the answer,
   ``duration``: seconds of the attempt) or raises :class:`DeliveryError`, whose
   ``retryable`` says whether trying again may help (5xx, 429, timeout, connection
   refused, robot rate limits: True; 4xx, robot errcodes for a wrong token/signature/
   body: False). For a webhook, ``message.payload`` is the JSON body (without one,
   ``{"subject": ..., "text": ...}`` is sent) and ``event`` its X-Lowcode-Event header.

4. Decide when to try again (``retry.py``)::

       when = next_attempt_at(attempts, error, now)   # None: give up (dead, or permanent)

   ``attempts`` counts the failed deliveries including this one; the back-off is the
   outbox's own (``engine.store.outbox.backoff``: 30 s doubling to 1 h, MAX_ATTEMPTS 10),
   deterministic (no jitter).

The HTTP client is :func:`post_json` (``http.py``, stdlib urllib, redirects not
followed): a benchmark's plain-loop baseline posts with the same function.
"""

from __future__ import annotations

from engine.service.delivery.channels import (
    deliver,
    send_dingtalk,
    send_feishu,
    send_mail,
    send_webhook,
    send_wecom,
)
from engine.service.delivery.errors import DeliveryError, TemplateError
from engine.service.delivery.http import HttpAnswer, post_json
from engine.service.delivery.message import DeliveryResult, Message
from engine.service.delivery.retry import next_attempt_at
from engine.service.delivery.settings import (
    MailSettings,
    RobotSettings,
    WebhookSettings,
    channel_settings,
    parse_mail_url,
)
from engine.service.delivery.signing import (
    dingtalk_sign,
    feishu_sign,
    verify_webhook_signature,
    webhook_signature,
)
from engine.service.delivery.templates import MessageTemplate, template_values

__all__ = [
    "DeliveryError",
    "DeliveryResult",
    "HttpAnswer",
    "MailSettings",
    "Message",
    "MessageTemplate",
    "RobotSettings",
    "TemplateError",
    "WebhookSettings",
    "channel_settings",
    "deliver",
    "dingtalk_sign",
    "feishu_sign",
    "next_attempt_at",
    "parse_mail_url",
    "post_json",
    "send_dingtalk",
    "send_feishu",
    "send_mail",
    "send_webhook",
    "send_wecom",
    "template_values",
    "verify_webhook_signature",
    "webhook_signature",
]
