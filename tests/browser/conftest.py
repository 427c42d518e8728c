"""Browser tests: the web front served over HTTP and driven in a real Chromium.

Chromium is Debian's (``/usr/bin/chromium``, installed by ``.ci/run`` with
``fonts-noto-cjk`` for the Chinese text), driven by Playwright; ``playwright install``
is never needed. Without Chromium or Playwright the browser tests are skipped with the
reason, except under ``CI=true`` where that is a failure (like PostgreSQL in
``tests/conftest.py``).

Each test gets a fresh SQLite database prepared like ``tests/web/conftest.py``'s ``site``
(plus the purchase app), served by a real WSGI server on a free loopback port, and
pages in a desktop (1280×800) or phone (375×740, touch) context. Screenshots go to
``test-artifacts/screenshots/<test>/<step>.png``.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engine.definitions import load_app
from engine.org.org_file import read_org_file
from engine.service import SYSTEM_ACTOR, Actor, Service

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "browser-test-pass-1"
LOGINS = ("admin", "wu.gang", "sun.li", "chen.xiao", "song.jia", "hz.boss", "gz.boss", "ma.lan")
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {
    "viewport": {"width": 375, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


def _unavailable(reason: str) -> None:
    reason += (
        " (the browser tests need Debian's chromium and fonts-noto-cjk: .ci/run installs them)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One Chromium for the session (Debian's, never a downloaded one)."""
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"Playwright is not installed ({exc}); pip install -e '.[test]'")
    driver = sync_playwright().start()
    try:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as exc:
        driver.stop()
        _unavailable(f"cannot launch {CHROMIUM}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    yield browser
    browser.close()
    driver.stop()


@dataclass
class LiveSite:
    """The web front served over HTTP, and the service on the same database."""

    url: str
    service: Service

    def at(self, path: str) -> str:
        return self.url + path

    def submit_leave(self, who: str = "wu.gang", **values: Any) -> Any:
        data = {
            "leave_type": "annual",
            "start_date": "2027-03-01",
            "end_date": "2027-03-02",
            "reason": "回老家探亲",
            **values,
        }
        return self.service.flows.submit(Actor(who), "leave", "leave_request", data)

    def instance(self, record_id: int, app: str = "leave", form: str = "leave_request") -> Any:
        return self.service.flows.instance_of(Actor("admin"), app, form, record_id)


def _prepared_service(database_url: str, files: Path) -> Service:
    service = Service(database_url, files_dir=files)
    service.init_database()
    service.org.load(SYSTEM_ACTOR, read_org_file(EXAMPLES / "org.yaml"))
    for login in LOGINS:
        service.org.set_password(SYSTEM_ACTOR, login, PASSWORD)
    service.calendar.ensure_seeded(SYSTEM_ACTOR)
    today = service.today()
    for year in (today.year, today.year + 1):
        if year not in service.calendar.years(SYSTEM_ACTOR):
            service.calendar.add_year(SYSTEM_ACTOR, year)
    admin = Actor("admin")
    roles = {"purchase_request": {"purchasing": "sales_ops", "finance": "payables"}}
    for folder in ("leave_request", "purchase_request", "dealer_orders"):
        service.install_app(admin, load_app(EXAMPLES / folder), role_map=roles.get(folder))
    return service


@pytest.fixture
def live_site(tmp_path: Path) -> Iterator[LiveSite]:
    """A fresh SQLite database with the example organisation and apps, served by a real
    WSGI server (werkzeug, threaded) on a free loopback port."""
    from werkzeug.serving import make_server

    from web import create_app

    database_url = f"sqlite:///{tmp_path / 'browser.db'}"
    service = _prepared_service(database_url, tmp_path / "files")
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "FILES_DIR": str(tmp_path / "files"),
            "SECRET_KEY": "browser-test-secret",
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-site", daemon=True)
    thread.start()
    try:
        yield LiveSite(f"http://127.0.0.1:{server.server_port}", service)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["lowcode_service"].close()
        service.close()


@dataclass
class Shots:
    """Numbered screenshots of one test: ``test-artifacts/screenshots/<test>/NN-step.png``."""

    folder: Path
    taken: list[Path] = field(default_factory=list)

    def __call__(self, page: Any, step: str) -> Path:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", step).strip("-")
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shots:
    """``shot(page, "step")`` saves a full-page screenshot named by test and step."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    folder = SCREENSHOTS / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return Shots(folder)


def _page(chromium: Any, options: dict[str, Any]) -> Iterator[Any]:
    context = chromium.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"script errors on the page: {errors}"


@pytest.fixture
def desktop(chromium: Any) -> Iterator[Any]:
    """A page in a 1280×800 desktop window."""
    yield from _page(chromium, DESKTOP)


@pytest.fixture
def phone(chromium: Any) -> Iterator[Any]:
    """A page on a 375×740 touch phone."""
    yield from _page(chromium, PHONE)


def assert_no_horizontal_scroll(page: Any) -> None:
    """Fail when the page is wider than the window (it scrolls sideways)."""
    wide, window = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert wide <= window, f"{page.url} scrolls sideways: {wide}px of content in {window}px"


def sign_in(page: Any, site: LiveSite, login: str, password: str = PASSWORD) -> None:
    """Fill the sign-in form and submit it (the caller checks where it lands).

    A navigation the previous step started (a form posted, a redirect) may still be
    under way: it is let finish, and a goto it aborts is tried again."""
    page.wait_for_load_state()
    for attempt in range(3):
        try:
            page.goto(site.at("/signin"))
            break
        except Exception as error:  # playwright's Error: net::ERR_ABORTED
            if "ERR_ABORTED" not in str(error) or attempt == 2:
                raise
            page.wait_for_load_state()
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("#signin button[type=submit]")
    page.wait_for_load_state()
