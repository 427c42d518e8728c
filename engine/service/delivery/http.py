"""The one HTTP client of delivery: POST a JSON body with the standard library's urllib.

Why urllib: it is already there (``requests`` is not a dependency of the engine and
``httpx`` would add one), a delivery is one small POST, and the benchmark's plain-loop
baseline posts with this same :func:`post_json`, so the comparison measures the
dispatcher, not two clients. Redirects are not followed (a 3xx is an answer like any
other: the channel treats it as a permanent failure), proxies come from the usual
environment variables, at most 64 KiB of an answer are read.

``timeout`` applies to each network operation (connect, each read): a receiver that
never answers fails after ``timeout`` seconds.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.service.delivery.errors import DeliveryError, both
from engine.service.delivery.message import excerpt

#: the most of an answer that is read
MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "lowcode-delivery/1"


@dataclass(frozen=True)
class HttpAnswer:
    """A receiver's answer: ``status``, ``text`` (decoded, at most 64 KiB read),
    ``headers`` (lower-case names), ``duration`` seconds from connect to the last byte."""

    status: int
    text: str
    headers: Mapping[str, str]
    duration: float

    def json(self) -> Any:
        """The answer as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _KeepErrors(urllib.request.HTTPErrorProcessor):
    """Every status is an answer; the channel decides what it means."""

    def http_response(self, request: Any, response: Any) -> Any:
        return response

    https_response = http_response


_OPENER = urllib.request.build_opener(_NoRedirect, _KeepErrors)


def encode_json(body: Any) -> bytes:
    """The bytes that are sent: compact UTF-8 JSON (Chinese kept as is, not \\u-escaped)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def post_json(
    url: str,
    body: Any,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    channel: str = "webhook",
) -> HttpAnswer:
    """POST ``body`` (bytes as they are, anything else encoded by :func:`encode_json`)
    to ``url``; return the answer whatever its status, or raise a retryable
    :class:`DeliveryError` when there is none (timeout, connection refused or reset,
    DNS failure, TLS failure)."""
    data = body if isinstance(body, bytes) else encode_json(body)
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("Content-Type", "application/json; charset=utf-8")
    request.add_header("User-Agent", USER_AGENT)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    started = time.monotonic()
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            raw = response.read(MAX_ANSWER_BYTES)
            status = response.status
            answer_headers = {k.lower(): v for k, v in response.headers.items()}
    except TimeoutError as exc:
        raise _unreachable(channel, url, started, exc, timed_out=True) from exc
    except urllib.error.URLError as exc:
        timed_out = isinstance(exc.reason, TimeoutError)
        raise _unreachable(channel, url, started, exc.reason, timed_out=timed_out) from exc
    except (OSError, ValueError) as exc:  # reset, broken pipe, a malformed answer
        raise _unreachable(channel, url, started, exc, timed_out=False) from exc
    charset = answer_headers.get("content-type", "").partition("charset=")[2].split(";")[0].strip()
    try:
        text = raw.decode(charset or "utf-8", errors="replace")
    except LookupError:  # an unknown charset name
        text = raw.decode("utf-8", errors="replace")
    return HttpAnswer(status, text, answer_headers, time.monotonic() - started)


def _unreachable(
    channel: str, url: str, started: float, reason: object, *, timed_out: bool
) -> DeliveryError:
    host = url.split("?")[0]
    duration = time.monotonic() - started
    if timed_out:
        text = both(
            f"{host} 在 {duration:.1f} 秒内未应答", f"{host} did not answer within {duration:.1f} s"
        )
    else:
        text = both(f"无法连接 {host}：{reason}", f"cannot reach {host}: {reason}")
    return DeliveryError(text, retryable=True, channel=channel, duration=duration)


def answer_error(channel: str, answer: HttpAnswer, what: str = "") -> DeliveryError:
    """The error for an HTTP answer that is not a success: 5xx, 408 and 429 are
    retryable, any other status (3xx redirects, 4xx) permanent."""
    status = answer.status
    retryable = status >= 500 or status in (408, 429)
    detail = f" {what}" if what else ""
    text = both(f"接收方返回 HTTP {status}{detail}", f"the receiver answered HTTP {status}{detail}")
    return DeliveryError(
        text,
        retryable=retryable,
        channel=channel,
        status=status,
        body_excerpt=excerpt(answer.text),
        duration=answer.duration,
    )
