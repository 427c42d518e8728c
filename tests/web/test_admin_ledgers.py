"""The read-only admin pages of ledgers: ``/admin/ledgers`` lists each ledger's accounts
with balance, held and available (CHANNEL_DOMAIN C5: D002's rebate account at
40,000.00), and an account's page shows its lots L1 and L2 and its entries.
Organisation admins only; SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.definitions import load_app_text
from engine.org.org_file import read_org_file
from engine.service import SYSTEM_ACTOR, Actor
from tests.web.conftest import EXAMPLES, PASSWORD, Browser

APP = Path(__file__).resolve().parents[1] / "scenarios" / "ledger_app.yaml"


@pytest.fixture
def ledger_site(make_service, database_url, tmp_path, clock):
    """(Flask app, service): the rebate demo app with C5's two lots booked, then the
    example organisation (admin and wu.gang can sign in)."""
    from web import create_app

    service = make_service()
    service.install_app(SYSTEM_ACTOR, load_app_text(APP.read_text(encoding="utf-8")))
    clerk = Actor("li.na")
    for amount, day in (("7250.00", (2025, 4, 8, 10, 0)), ("32750.00", (2025, 7, 10, 15, 0))):
        clock.set(*day)
        record = service.create_record(
            clerk, "rebate_demo", "rebate_statement", {"dealer": "D002", "amount": amount}
        )
        for stage in ("已确认", "已入账"):
            service.update_record(
                clerk, "rebate_demo", "rebate_statement", record.id, {"stage": stage}
            )
    service.org.load(SYSTEM_ACTOR, read_org_file(EXAMPLES / "org.yaml"))
    for login in ("admin", "wu.gang"):
        service.org.set_password(SYSTEM_ACTOR, login, PASSWORD)
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "FILES_DIR": str(tmp_path / "files"),
            "SECRET_KEY": "test-secret",
            "TESTING": True,
        }
    )
    return app, service


def _browser(site, login: str) -> Browser:
    browser = Browser(site[0].test_client())
    assert browser.sign_in(login).status_code == 302
    return browser


def _cells(row: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]


def test_the_ledgers_page_shows_c5_balance_and_the_account_its_lots(ledger_site):
    admin = _browser(ledger_site, "admin")
    page = admin.get("/admin/ledgers")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    [row] = re.findall(r'<tr class="account">(.*?)</tr>', html, re.S)
    assert _cells(row) == ["D002 / rebate", "40,000.00", "0.00", "40,000.00"]
    assert "返利账户" in html and "rebate_demo.credit_points" in html
    link = re.search(r'href="(/admin/ledgers/rebate_demo/credit_points/account\?[^"]+)"', row)
    assert link is not None
    account = admin.get(link.group(1).replace("&amp;", "&"))
    assert account.status_code == 200
    html = account.get_data(as_text=True)
    lots = re.findall(r'<tr id="lot-\d+">(.*?)</tr>', html, re.S)
    assert [_cells(lot)[:1] + _cells(lot)[2:5] for lot in lots] == [
        ["L1 #1", "7,250.00", "7,250.00", "2026-04-30"],
        ["L2 #2", "32,750.00", "32,750.00", "2026-07-31"],
    ]
    assert re.search(r'class="col-sm-10 balance">40,000.00<', html)
    entries = re.findall(r'<tr id="entry-\d+">(.*?)</tr>', html, re.S)
    assert [_cells(e)[1:3] for e in entries] == [["入账", "7,250.00"], ["入账", "32,750.00"]]


def test_a_wrong_key_is_a_message_and_others_get_404(ledger_site):
    admin = _browser(ledger_site, "admin")
    answer = admin.get("/admin/ledgers/rebate_demo/credit_points/account?key=D002")
    assert answer.status_code == 302
    html = admin.get("/admin/ledgers").get_data(as_text=True)
    assert "账本 credit_points 的账户由 dealer, kind 确定" in html
    staff = _browser(ledger_site, "wu.gang")
    assert staff.get("/admin/ledgers").status_code == 404
