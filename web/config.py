"""Configuration: defaults, then ``<instance>/web.py`` (if present), then environment
variables, then what the caller passes (tests)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": "sqlite:///instance/lowcode.db",
    "FILES_DIR": "instance/files",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # served on plain HTTP on a developer's machine; set LOWCODE_SECURE_COOKIES=1 behind TLS
    "SESSION_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "BOOTSTRAP_SERVE_LOCAL": True,  # Bootstrap from the installed package, never a CDN
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    "RATELIMIT_STORAGE_URI": "memory://",
    #: sign-in attempts allowed per address (Flask-Limiter notation)
    "SIGN_IN_LIMIT": "10 per minute",
    #: the largest request body read at all (uploads included); a form's own file limits
    #: are checked by the service, this stops a huge body before anything parses it
    "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
    #: outgoing mail for notifications: smtp://[user:password@]host[:port] (STARTTLS when
    #: the server offers it) or smtps://... (TLS from the start); empty: no mail is sent
    "MAIL_URL": "",
    "MAIL_FROM": "lowcode@localhost",
}

#: environment variable -> config key
ENVIRONMENT = {
    "LOWCODE_DATABASE_URL": "DATABASE_URL",
    "LOWCODE_FILES_DIR": "FILES_DIR",
    "LOWCODE_SECRET_KEY": "SECRET_KEY",
    "LOWCODE_RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
    "LOWCODE_MAIL_URL": "MAIL_URL",
    "LOWCODE_MAIL_FROM": "MAIL_FROM",
}


def load_config(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    app.config.update(DEFAULTS)
    app.config.from_pyfile("web.py", silent=True)
    for variable, key in ENVIRONMENT.items():
        if os.environ.get(variable):
            app.config[key] = os.environ[variable]
    if os.environ.get("LOWCODE_SECURE_COOKIES") == "1":
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = True
    app.config.update(overrides or {})
    check_mail_url(app.config.get("MAIL_URL") or "", app.config["MAIL_FROM"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))


def _instance_secret(folder: Path) -> str:
    """A secret kept in the instance folder, made once: sessions survive a restart and
    every worker of one server signs with the same key."""
    path = folder / "secret_key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def check_mail_url(url: str, sender: str = "lowcode@localhost") -> None:
    """Refuse a mail URL or sender the server could not use, at start-up rather than at
    the first notification (ValueError naming the setting and the expected shape). The
    parsing is the delivery channels' own (engine.service.delivery.parse_mail_url)."""
    if not url:
        return
    from engine.service import ServiceError
    from engine.service.delivery import parse_mail_url

    try:
        parse_mail_url(url, sender)
    except ServiceError as refused:
        raise ValueError(f"MAIL_URL / MAIL_FROM (LOWCODE_MAIL_*): {refused}") from None
