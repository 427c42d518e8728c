"""Configuration: defaults, then the instance folder's web.py, then LOWCODE_* variables,
then what the caller passes; a secret key made once per instance; a mail URL checked at
start-up."""

from __future__ import annotations

import stat

import pytest
from flask import Flask

from engine.service import SYSTEM_ACTOR, Actor
from web.config import load_config


def _app(folder) -> Flask:
    return Flask("web", instance_path=str(folder), instance_relative_config=True)


def test_instance_file_then_environment_then_overrides(tmp_path, monkeypatch):
    (tmp_path / "web.py").write_text(
        'DATABASE_URL = "sqlite:///from-file.db"\nFILES_DIR = "/srv/files"\n'
        'MAIL_FROM = "file@example.cn"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("LOWCODE_FILES_DIR", "/env/files")
    monkeypatch.setenv("LOWCODE_MAIL_URL", "smtp://robot:pw@127.0.0.1:2525")
    app = _app(tmp_path)
    load_config(app, {"MAIL_FROM": "caller@example.cn"})
    assert app.config["DATABASE_URL"] == "sqlite:///from-file.db"  # the file
    assert app.config["FILES_DIR"] == "/env/files"  # the environment beats the file
    assert app.config["MAIL_URL"] == "smtp://robot:pw@127.0.0.1:2525"
    assert app.config["MAIL_FROM"] == "caller@example.cn"  # the caller beats both
    assert app.config["SESSION_COOKIE_SECURE"] is False
    monkeypatch.setenv("LOWCODE_SECURE_COOKIES", "1")
    load_config(app, None)
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]


def test_the_secret_key_is_made_once_and_kept_private(tmp_path):
    first, second = _app(tmp_path), _app(tmp_path)
    load_config(first, None)
    load_config(second, None)
    key = first.config["SECRET_KEY"]
    assert len(key) == 64 and second.config["SECRET_KEY"] == key
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "url", ["mail.example.cn", "http://mail.example.cn", "smtp://", "smtp://host:port"]
)
def test_a_mail_url_the_server_cannot_use_is_refused_at_start(tmp_path, url):
    with pytest.raises(ValueError, match="MAIL_URL"):
        load_config(_app(tmp_path), {"MAIL_URL": url})


def test_a_body_over_the_limit_is_refused_with_a_page_and_saves_nothing(site, browser):
    app, service = site
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    browser.sign_in("wu.gang")
    browser.get("/f/leave/leave_request/new")
    answer = browser.post(
        "/f/leave/leave_request/new", {"reason": "x" * (2 * 1024 * 1024), "action": "submit"}
    )
    assert answer.status_code == 413
    assert "超过 1 MB" in answer.get_data(as_text=True)
    assert service.query_records(SYSTEM_ACTOR, "leave", "leave_request").total == 0
    token = service.org.create_token(Actor("admin"), "wu.gang", "big")
    api = app.test_client().post(
        "/api/v1/apps/leave/forms/leave_request/records",
        data=b"{" + b" " * (2 * 1024 * 1024),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert api.status_code == 413 and api.content_type == "application/problem+json"
