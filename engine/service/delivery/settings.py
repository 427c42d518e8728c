"""Channel settings, checked once, before anything is sent.

A rule's ``notify`` or ``webhook`` action names a channel and its settings (a mapping
read from YAML or the instance configuration); :func:`channel_settings` turns them into
one of the frozen classes below or raises
:class:`~engine.errors.InvalidArgumentError` naming the setting.

Decisions:

* URLs must be ``http://`` or ``https://`` with a host; anything else (``file:``,
  ``ftp:``, ``gopher:``, no host, user:password in a robot URL) is refused.
* ``allow_private_hosts`` (default True: the single-machine default often posts to a
  receiver on the same machine or LAN, and the tests post to 127.0.0.1). Set it to
  False on a shared server: then a host that resolves to a loopback, private,
  link-local, reserved or multicast address is refused, checked when the settings are
  read (literal addresses) and again just before each request (names, see
  :func:`check_host`).
* ``timeout`` is seconds per network operation (connect, each read), default 10,
  at most 120.
* MAIL_URL has one parser, :func:`parse_mail_url` (the web configuration's
  ``check_mail_url`` can call it): ``smtp://[user:password@]host[:port]`` (port 25
  by default, STARTTLS when the server offers it) or ``smtps://...`` (TLS from the
  start, port 465 by default); user and password are percent-decoded.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr
from typing import Any
from urllib.parse import unquote, urlsplit

from engine.errors import InvalidArgumentError
from engine.service.delivery.errors import both

DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 120.0
ROBOT_KINDS = ("dingtalk", "wecom", "feishu")
KINDS = ("mail", *ROBOT_KINDS, "webhook")


def invalid(
    argument: str, value: object, expected: str, code: str = "type"
) -> InvalidArgumentError:
    """An InvalidArgumentError for a setting or argument, in zh-CN and en."""
    given = repr(value)
    if len(given) > 80:
        given = given[:77] + "..."
    text = both(
        f"{argument}：应为 {expected}，实际为 {given}",
        f"{argument}: expected {expected}, got {given}",
    )
    return InvalidArgumentError(text, argument=argument, given=given, expected=expected, code=code)


@dataclass(frozen=True)
class MailSettings:
    """Where mail goes: ``scheme`` ``smtp`` (STARTTLS when offered) or ``smtps``."""

    scheme: str
    host: str
    port: int
    username: str = ""
    password: str = ""
    sender: str = "lowcode@localhost"
    timeout: float = DEFAULT_TIMEOUT
    kind: str = "mail"

    def __repr__(self) -> str:  # never print the password
        return f"MailSettings({self.scheme}://{self.host}:{self.port}, sender={self.sender!r})"


@dataclass(frozen=True)
class RobotSettings:
    """A group robot: ``kind`` dingtalk / wecom / feishu, its webhook ``url``, and the
    ``secret`` of DingTalk's 加签 or Feishu's 签名校验 (empty: requests are not signed)."""

    kind: str
    url: str
    secret: str = ""
    timeout: float = DEFAULT_TIMEOUT
    allow_private_hosts: bool = True

    def __repr__(self) -> str:  # the URL holds the robot's token
        return f"RobotSettings({self.kind}, {urlsplit(self.url).hostname})"


@dataclass(frozen=True)
class WebhookSettings:
    """A webhook: POST JSON to ``url``, signed with ``secret`` when there is one."""

    url: str
    secret: str = ""
    timeout: float = DEFAULT_TIMEOUT
    allow_private_hosts: bool = True
    kind: str = "webhook"

    def __repr__(self) -> str:
        return f"WebhookSettings({self.url.split('?')[0]})"


ChannelSettings = MailSettings | RobotSettings | WebhookSettings


def parse_mail_url(
    url: object, sender: object = "lowcode@localhost", *, argument: str = "MAIL_URL"
) -> MailSettings:
    """MAIL_URL and MAIL_FROM as :class:`MailSettings`; InvalidArgumentError naming
    ``argument`` when the URL is not ``smtp://`` / ``smtps://`` with a host and a valid
    port, or the sender is not an address."""
    if not isinstance(url, str) or not url:
        raise invalid(argument, url, "smtp://user:password@host:587 or smtps://host:465")
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname or port == -1:
        raise invalid(
            argument,
            f"{parts.scheme or '?'}://{parts.hostname or '?'}...",
            "smtp://user:password@host:587 or smtps://host:465",
        )
    check_sender(sender, "MAIL_FROM")
    username, password = unquote(parts.username or ""), unquote(parts.password or "")
    if not (username + password).isascii():
        # smtplib sends AUTH PLAIN/LOGIN as ASCII only
        raise invalid(
            argument, f"{parts.scheme}://***@{parts.hostname}", "an ASCII user name and password"
        )
    return MailSettings(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or (465 if parts.scheme == "smtps" else 25),
        username=username,
        password=password,
        sender=str(sender),
    )


def check_sender(value: object, argument: str) -> str:
    """A mail address, bare or as ``名字 <addr@host>``."""
    if not isinstance(value, str) or "\n" in value or "\r" in value:
        raise invalid(argument, value, "an address such as 系统 <lowcode@example.com>")
    _name, address = parseaddr(value)
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError):
        raise invalid(argument, value, "an address such as 系统 <lowcode@example.com>") from None
    if "@" not in address:
        raise invalid(argument, value, "an address such as 系统 <lowcode@example.com>")
    return value


def check_url(url: object, argument: str, allow_private_hosts: bool) -> str:
    """An http(s) URL with a host; with ``allow_private_hosts`` False a literal private
    address is refused here (names are checked before each request)."""
    if not isinstance(url, str) or not url or any(c in url for c in "\r\n\t "):
        raise invalid(argument, url, "an http:// or https:// URL")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid(argument, url, "an http:// or https:// URL", code="scheme")
    try:
        _ = parts.port
    except ValueError:
        raise invalid(argument, url, "an http:// or https:// URL with a valid port") from None
    if not allow_private_hosts:
        try:
            address = ipaddress.ip_address(parts.hostname)
        except ValueError:
            address = None
        if address is not None and not address.is_global:
            raise invalid(
                argument, url, "a public host (allow_private_hosts is false)", code="private_host"
            )
    return url


def check_host(url: str, argument: str = "url") -> None:
    """Before a request with ``allow_private_hosts`` False: every address the host
    resolves to must be public (InvalidArgumentError otherwise, or when it does not resolve)."""
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError:
        raise invalid(argument, url, "a host name that resolves", code="dns") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global:
            raise invalid(
                argument, url, "a public host (allow_private_hosts is false)", code="private_host"
            )


def _timeout(value: object, argument: str) -> float:
    if value is None:
        return DEFAULT_TIMEOUT
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 < value <= MAX_TIMEOUT
    ):
        raise invalid(
            argument, value, f"seconds, more than 0 and at most {MAX_TIMEOUT:g}", code="range"
        )
    return float(value)


def _text(settings: Mapping[str, Any], key: str, kind: str, *, required: bool = False) -> str:
    value = settings.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or (required and not value):
        raise invalid(f"{kind}.{key}", value, "text" + (" (required)" if required else ""))
    return value


def _flag(settings: Mapping[str, Any], key: str, kind: str, default: bool) -> bool:
    value = settings.get(key, default)
    if not isinstance(value, bool):
        raise invalid(f"{kind}.{key}", value, "true or false")
    return value


def channel_settings(kind: object, settings: object) -> ChannelSettings:
    """The settings of one channel, checked.

    ``kind`` is ``mail`` (keys ``url``: a MAIL_URL, ``sender``: MAIL_FROM, ``timeout``),
    ``dingtalk`` / ``wecom`` / ``feishu`` (``url``, ``secret``, ``timeout``,
    ``allow_private_hosts``) or ``webhook`` (the same keys). Unknown keys are refused
    (a typo such as ``secert`` would otherwise send unsigned requests).
    """
    if kind not in KINDS:
        raise invalid("kind", kind, "one of " + ", ".join(KINDS))
    if not isinstance(settings, Mapping):
        raise invalid(str(kind), settings, "a mapping of settings")
    allowed = (
        {"url", "sender", "timeout"}
        if kind == "mail"
        else {"url", "secret", "timeout", "allow_private_hosts"}
    )
    unknown = sorted(str(k) for k in settings if k not in allowed)
    if unknown:
        raise invalid(
            f"{kind}.{unknown[0]}",
            unknown[0],
            "one of " + ", ".join(sorted(allowed)),
            code="unknown",
        )
    timeout = _timeout(settings.get("timeout"), f"{kind}.timeout")
    if kind == "mail":
        parsed = parse_mail_url(
            settings.get("url"), settings.get("sender", "lowcode@localhost"), argument="mail.url"
        )
        return MailSettings(**{**parsed.__dict__, "timeout": timeout})
    private = _flag(settings, "allow_private_hosts", str(kind), True)
    url = check_url(settings.get("url"), f"{kind}.url", private)
    secret = _text(settings, "secret", str(kind))
    if urlsplit(url).username is not None:
        raise invalid(f"{kind}.url", url.split("@")[-1], "a URL without user:password@")
    if kind == "webhook":
        return WebhookSettings(url=url, secret=secret, timeout=timeout, allow_private_hosts=private)
    return RobotSettings(
        kind=str(kind), url=url, secret=secret, timeout=timeout, allow_private_hosts=private
    )
