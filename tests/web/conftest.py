"""A web app on a fresh database with the example organisation and apps installed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from engine.definitions import load_app
from engine.org.org_file import read_org_file
from engine.service import SYSTEM_ACTOR, Actor

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PASSWORD = "web-test-pass-1"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def site(make_service, database_url, tmp_path):
    """(Flask app, service) with the example organisation (every password PASSWORD)."""
    from web import create_app

    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_file(EXAMPLES / "org.yaml"))
    for login in (
        "admin",
        "wu.gang",
        "sun.li",
        "chen.xiao",
        "song.jia",
        "hz.boss",
        "gz.boss",
        "ma.lan",
        "he.jing",
    ):
        service.org.set_password(SYSTEM_ACTOR, login, PASSWORD)
    service.calendar.ensure_seeded(SYSTEM_ACTOR)
    for year in (2027,):
        if year not in service.calendar.years(SYSTEM_ACTOR):
            service.calendar.add_year(SYSTEM_ACTOR, year)
    service.install_app(Actor("admin"), load_app(EXAMPLES / "leave_request"))
    service.install_app(Actor("admin"), load_app(EXAMPLES / "dealer_orders"))
    service.install_app(
        Actor("admin"),
        load_app(EXAMPLES / "purchase_request"),
        role_map={"purchasing": "sales_ops", "finance": "payables"},
    )
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "FILES_DIR": str(tmp_path / "files"),
            "SECRET_KEY": "test-secret",
            "TESTING": True,
        }
    )
    return app, service


class Browser:
    """A test client that signs in and posts with the page's CSRF token."""

    def __init__(self, client: Any):
        self.client = client
        self.token = ""

    def get(self, path: str, **kwargs: Any) -> Any:
        answer = self.client.get(path, **kwargs)
        if not answer.mimetype.startswith("text/"):  # a download (xlsx, csv...) holds no form
            return answer
        found = TOKEN.search(answer.get_data(as_text=True))
        if found:
            self.token = found.group(1)
        return answer

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})}, **kwargs)

    def sign_in(self, login: str, password: str = PASSWORD) -> Any:
        self.get("/signin")
        return self.post("/signin", {"login": login, "password": password})


@pytest.fixture
def browser(site):
    app, _service = site
    return Browser(app.test_client())
