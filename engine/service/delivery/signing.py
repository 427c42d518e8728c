"""Signatures: DingTalk and Feishu robots with a secret, and our own webhooks.

* DingTalk (钉钉自定义机器人 加签): ``string_to_sign = f"{timestamp}\\n{secret}"`` with
  ``timestamp`` in milliseconds; ``sign = base64(HMAC-SHA256(key=secret,
  msg=string_to_sign))``, sent URL-encoded as the ``timestamp`` and ``sign`` query
  parameters (the robot refuses a timestamp more than an hour off).
* Feishu / Lark (飞书自定义机器人 签名校验): ``timestamp`` in seconds;
  ``sign = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))``, sent as the
  ``timestamp`` and ``sign`` fields of the JSON body.
* Webhooks: ``X-Lowcode-Signature: sha256=<hex HMAC-SHA256(key=secret,
  msg=f"{timestamp}." + body)>`` with ``X-Lowcode-Timestamp`` in seconds; a receiver
  recomputes it over the raw body bytes and compares in constant time
  (:func:`verify_webhook_signature`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's ``sign`` (base64, before URL-encoding) for ``timestamp_ms``."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's ``sign`` for ``timestamp_s`` (the key is timestamp and secret, the message empty)."""
    key = f"{timestamp_s}\n{secret}".encode()
    digest = hmac.new(key, b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def webhook_signature(secret: str, timestamp_s: int, body: bytes) -> str:
    """The ``X-Lowcode-Signature`` header value for ``body`` sent at ``timestamp_s``."""
    signed = str(timestamp_s).encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify_webhook_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float | None = None,
    tolerance: int = 300,
) -> bool:
    """What a receiver does: True when ``signature`` (the X-Lowcode-Signature header) is
    the HMAC of ``body`` (raw bytes, as received) at ``timestamp`` (X-Lowcode-Timestamp)
    and the timestamp is within ``tolerance`` seconds of ``now`` (refuses replays)."""
    if not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        return False
    expected = webhook_signature(secret, int(timestamp), body)
    return hmac.compare_digest(expected, signature)
