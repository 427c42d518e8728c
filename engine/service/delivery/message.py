"""What a channel sends (:class:`Message`) and what it answers (:class:`DeliveryResult`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: the longest answer excerpt kept in a result or error
MAX_EXCERPT = 1000


@dataclass(frozen=True)
class Message:
    """A rendered message, ready for any channel.

    ``subject`` is the mail subject and the robots' title; ``text`` the plain text;
    ``html`` the mail's HTML alternative (optional); ``markdown`` the robots' markdown
    (optional: without it a robot gets a text message); ``to`` the mail recipients
    (``"张三 <zhang@example.com>"`` or bare addresses); ``payload`` a webhook's JSON body
    (without it the webhook gets ``{"subject": ..., "text": ...}``).
    """

    subject: str = ""
    text: str = ""
    html: str | None = None
    markdown: str | None = None
    to: tuple[str, ...] = ()
    payload: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class DeliveryResult:
    """A successful delivery: ``status`` is the HTTP status or the SMTP reply code,
    ``body_excerpt`` the first 1,000 characters of the answer, ``duration`` seconds."""

    channel: str
    status: int | None
    body_excerpt: str = ""
    duration: float = 0.0
    details: Mapping[str, Any] = field(default_factory=dict)


def excerpt(text: str) -> str:
    """The first :data:`MAX_EXCERPT` characters of ``text``."""
    return text[:MAX_EXCERPT]
