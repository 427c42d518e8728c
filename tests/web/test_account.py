"""The signed-in person's account: a generated password must be replaced first, changing
it ends the other sessions, "sign out everywhere" ends them all, and the language
chosen follows the person to their next session."""

from __future__ import annotations

import html
import re

import pytest

from engine.errors import InvalidArgumentError, PermissionDeniedError
from engine.service import Actor
from tests.web.conftest import PASSWORD, Browser

GENERATED = "Generated-pass-9"


def _signed_in(app, login: str, password: str = PASSWORD) -> Browser:
    person = Browser(app.test_client())
    assert person.sign_in(login, password).status_code == 302
    return person


def test_a_generated_password_must_be_replaced_before_anything_else(site):
    app, service = site
    service.org.set_password(Actor("admin"), "sun.li", GENERATED, must_change=True)
    sun = Browser(app.test_client())
    answer = sun.sign_in("sun.li", GENERATED)
    assert answer.status_code == 302 and answer.location.startswith("/account/password")
    # every page leads back to the password form; signing out still works
    for path in ("/", "/tasks", "/apps/purchase_request/forms/purchase_request/new"):
        assert "/account/password" in sun.get(path).location
    page = sun.get("/account/password").get_data(as_text=True)
    assert 'id="must-change"' in page and 'id="sign-out-everywhere"' not in page

    # each refusal says what is wrong, next to the field, and changes nothing
    refusals = [
        (
            {"current": "wrong-pass-1", "password": "sun-own-pass", "confirm": "sun-own-pass"},
            "当前密码不正确",
        ),
        (
            {"current": GENERATED, "password": "sun-own-pass", "confirm": "sun-other-pass"},
            "两次输入的新密码不一致",
        ),
        ({"current": GENERATED, "password": "short", "confirm": "short"}, "至少需要 8 个字符"),
        ({"current": GENERATED, "password": GENERATED, "confirm": GENERATED}, "不能与当前密码相同"),
    ]
    for values, message in refusals:
        answer = sun.post("/account/password", values)
        assert answer.status_code == 400 and message in answer.get_data(as_text=True)
    assert service.accounts.session_state("sun.li").password_must_change

    values = {"current": GENERATED, "password": "sun-own-pass", "confirm": "sun-own-pass"}
    answer = sun.post("/account/password?next=/tasks", values)
    assert answer.status_code == 302 and answer.location == "/tasks"
    assert sun.get("/").status_code == 200
    assert not service.accounts.session_state("sun.li").password_must_change
    # the generated password is gone; the chosen one signs in straight to the workbench
    assert Browser(app.test_client()).sign_in("sun.li", GENERATED).status_code == 200
    again = Browser(app.test_client())
    assert again.sign_in("sun.li", "sun-own-pass").location == "/"


def test_admin_pages_hand_out_passwords_that_must_be_changed(site):
    app, service = site
    admin = _signed_in(app, "admin")
    admin.get("/admin/users/wu.gang")
    admin.post("/admin/users/wu.gang/password")
    assert service.accounts.session_state("wu.gang").password_must_change
    # a password set by the admin on the command line or a file load need not change
    service.org.set_password(Actor("admin"), "wu.gang", PASSWORD)
    assert not service.accounts.session_state("wu.gang").password_must_change


def test_changing_the_password_keeps_this_session_and_ends_the_others(site):
    app, _service = site
    phone, desktop = _signed_in(app, "sun.li"), _signed_in(app, "sun.li")
    phone.get("/account")
    values = {"current": PASSWORD, "password": "sun-new-pass", "confirm": "sun-new-pass"}
    assert phone.post("/account/password", values).status_code == 302
    assert phone.get("/").status_code == 200
    assert desktop.get("/").status_code == 302  # back to sign-in


def test_sign_out_everywhere_ends_every_session(site):
    app, service = site
    phone, desktop = _signed_in(app, "sun.li"), _signed_in(app, "sun.li")
    other = _signed_in(app, "wu.gang")
    phone.get("/account")
    answer = phone.post("/account/signout-everywhere")
    assert answer.status_code == 302 and answer.location.startswith("/signin")
    assert phone.get("/").status_code == 302
    assert desktop.get("/").status_code == 302
    assert other.get("/").status_code == 200  # nobody else is touched
    # signing in again works at once
    assert _signed_in(app, "sun.li").get("/").status_code == 200

    # an admin can sign someone out everywhere; nobody else can
    admin = _signed_in(app, "admin")
    admin.get("/admin/users/wu.gang")
    admin.post("/admin/users/wu.gang/signout-everywhere")
    assert other.get("/").status_code == 302
    with pytest.raises(PermissionDeniedError, match="只有管理员"):
        service.accounts.sign_out_everywhere(Actor("sun.li"), "wu.gang")


def test_the_chosen_language_follows_the_person(site):
    app, service = site
    sun = _signed_in(app, "sun.li")
    sun.get("/")
    sun.post("/locale", {"locale": "en", "next": "/"})
    assert service.accounts.session_state("sun.li").locale == "en"
    later = _signed_in(app, "sun.li")
    assert '<html lang="en">' in later.get("/").get_data(as_text=True)
    # signed out, the switch only lasts for the browser's session
    stranger = Browser(app.test_client())
    stranger.get("/signin")
    stranger.post("/locale", {"locale": "en", "next": "/signin"})
    assert service.accounts.session_state("wu.gang").locale == "zh-CN"


def test_account_arguments_of_the_wrong_type_are_refused(site):
    _app, service = site
    with pytest.raises(InvalidArgumentError):
        service.accounts.session_state(42)
    with pytest.raises(InvalidArgumentError):
        service.accounts.set_locale(Actor("sun.li"), "fr")
    with pytest.raises(InvalidArgumentError):
        service.accounts.change_password(Actor("sun.li"), PASSWORD, None)
    with pytest.raises(InvalidArgumentError):
        service.org.set_password(Actor("admin"), "sun.li", PASSWORD, must_change="yes")
    service.org.set_active(Actor("admin"), "sun.li", False)
    assert service.accounts.session_state("sun.li") is None
    assert service.accounts.session_state("nobody") is None
    assert service.accounts.session_state("wu.gang").epoch >= 1  # set_password moved it


def _links(page: str) -> set[str]:
    """The site's own pages the page links to (no static files, no other host)."""
    found = set(re.findall(r'href="(/[^"/][^"]*|/)"', page))
    return {html.unescape(link) for link in found if not link.startswith("/static/")}


def test_a_dealer_users_account_pages_lead_only_to_pages_that_are_there_for_them(site):
    """The account pages use the internal layout; for a dealer user its menu is the
    portal's (docs/portal.md): every link on them answers 200, none leads to a 404."""
    app, _service = site
    hz = _signed_in(app, "hz.boss")
    for path in ("/account", "/account/password"):
        answer = hz.get(path)
        assert answer.status_code == 200, path
        page = answer.get_data(as_text=True)
        assert 'id="portal-brand"' in page and 'id="portal-nav"' in page, path
        links = _links(page)
        assert {"/portal/", "/portal/tasks", "/portal/notifications", "/account"} <= links
        for internal in ("/tasks/", "/notifications", "/admin/users"):
            assert internal not in links, (path, internal)
        for link in sorted(links):
            assert hz.get(link).status_code == 200, (path, link)
        assert "我的待办" not in page and "工作台" not in page
    # staff keep the workbench's menu
    sun = _signed_in(app, "sun.li")
    page = sun.get("/account").get_data(as_text=True)
    assert 'id="portal-nav"' not in page and 'id="notifications-link"' in page
    assert {"/", "/tasks/", "/account"} <= _links(page)
