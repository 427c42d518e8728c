"""The two errors of delivery: a message that could not be delivered, a template refused.

Messages carry both languages (zh-CN first, then en): deliveries run in the background
for no particular actor, and an administrator reads them in the outbox page or a log.
"""

from __future__ import annotations


def both(zh: str, en: str) -> str:
    """One message in the two languages the engine speaks."""
    return f"{zh} / {en}"


class DeliveryError(Exception):
    """A delivery attempt that failed.

    ``retryable`` says whether trying again later may help (a timeout, a refused
    connection, an HTTP 5xx or 429, an SMTP 4xx, a robot's rate limit) or not (an HTTP
    4xx, an SMTP 5xx, a robot's wrong token, signature or body). ``status`` is the HTTP
    status or SMTP reply code when there was one, ``body_excerpt`` the first 1,000
    characters of the answer, ``duration`` the seconds the attempt took, ``channel``
    the channel kind (``mail``, ``dingtalk``, ``wecom``, ``feishu``, ``webhook``).
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        channel: str = "",
        status: int | None = None,
        body_excerpt: str = "",
        duration: float = 0.0,
    ):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.channel = channel
        self.status = status
        self.body_excerpt = body_excerpt
        self.duration = duration

    def __str__(self) -> str:
        kind = "retryable" if self.retryable else "permanent"
        head = f"{self.channel}: " if self.channel else ""
        return f"{head}{self.message} [{kind}]"


class TemplateError(ValueError):
    """A message template that is refused (hostile, malformed) or failed to render.

    ``template`` names it (a rule file and line, or a rule key), ``line`` is the line
    inside the template text (1-based) when known; ``str()`` reads
    ``rules/order.yaml:12 (template line 3): ...``.
    """

    def __init__(self, message: str, *, template: str, line: int | None = None):
        self.message = message
        self.template = template
        self.line = line
        where = template if line is None else f"{template} (template line {line})"
        super().__init__(f"{where}: {message}")
