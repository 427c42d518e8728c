"""Real receivers on 127.0.0.1: an HTTP server standing in for DingTalk, WeCom, Feishu and
webhook endpoints, and an aiosmtpd SMTP server.

``http_receiver`` answers from a script: each request takes the next step (the last
one repeats): ``(status, body)`` or ``"hang"`` (never answers until the test ends).
Every request is recorded with its path, query, headers and raw body.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    url: str
    script: list[Any] = field(default_factory=lambda: [(200, {"errcode": 0, "errmsg": "ok"})])
    requests: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


def _handler(receiver: HttpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            parts = urlsplit(self.path)
            receiver.requests.append(
                Received(
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
            )
            index = min(len(receiver.requests), len(receiver.script)) - 1
            step = receiver.script[index]
            if step == "hang":
                receiver.release.wait(10)
                return
            status, answer = step
            data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            self.send_response(status)
            if status in (301, 302, 307, 308):
                self.send_header("Location", receiver.url + "/elsewhere")
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class MailBox:
    host: str
    port: int
    messages: list[Any] = field(default_factory=list)
    rcpt_answers: dict[str, str] = field(default_factory=dict)
    logins: list[tuple[str, str]] = field(default_factory=list)


class _MailHandler:
    def __init__(self, box: MailBox):
        self.box = box

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:  # noqa: N802
        answer = self.box.rcpt_answers.get(address)
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.box.messages.append(envelope)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl command) and its key."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            key,
            "-out",
            cert,
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def trust_test_certificate(tls_files: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's default TLS context trusts the test certificate (OpenSSL reads
    SSL_CERT_FILE when it loads the default verify paths)."""
    monkeypatch.setenv("SSL_CERT_FILE", tls_files[0])


def _server_context(tls_files: tuple[str, str]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_files)
    return context


@pytest.fixture
def starttls_server(tls_files: tuple[str, str]) -> Iterator[MailBox]:
    """An aiosmtpd server offering STARTTLS and accepting a login only over TLS."""
    yield from _mail_server(tls_context=_server_context(tls_files), auth_require_tls=True)


@pytest.fixture
def smtps_server(tls_files: tuple[str, str]) -> Iterator[MailBox]:
    """An aiosmtpd server speaking TLS from the first byte (smtps://)."""
    # aiosmtpd does not see TLS it did not negotiate itself: AUTH is allowed outright
    yield from _mail_server(ssl_context=_server_context(tls_files), auth_require_tls=False)


@pytest.fixture
def smtp_server() -> Iterator[MailBox]:
    """An aiosmtpd server on 127.0.0.1 accepting the login ``mailer`` / ``p@ss word``."""
    yield from _mail_server(auth_require_tls=False)


@pytest.fixture
def no_auth_server() -> Iterator[MailBox]:
    """An aiosmtpd server without TLS that offers AUTH only over TLS: never."""
    yield from _mail_server(auth_require_tls=True)


def _mail_server(**options: Any) -> Iterator[MailBox]:
    box = MailBox("127.0.0.1", _free_port())

    def authenticate(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            user, password = data.login.decode(), data.password.decode()
            box.logins.append((user, password))
            ok = user == "mailer" and password == "p@ss word"
            return AuthResult(success=ok, handled=False)
        return AuthResult(success=False, handled=False)

    controller = Controller(
        _MailHandler(box),
        hostname=box.host,
        port=box.port,
        authenticator=authenticate,
        **options,
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
