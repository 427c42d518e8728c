"""The admin pages: users, passwords and tokens, the organisation's trees, apps and an
install dry run; organisation admins only, every POST with its CSRF token."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.service import SYSTEM_ACTOR, Actor
from tests.web.conftest import Browser

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SECRET = re.compile(r'<code[^>]*id="secret">([^<]+)</code>')

PAGES = [
    "/admin/",
    "/admin/users",
    "/admin/users?q=li",
    "/admin/users/new",
    "/admin/users/sun.li",
    "/admin/org/departments",
    "/admin/org/roles",
    "/admin/org/regions",
    "/admin/org/dealers",
    "/admin/apps",
]
POSTS = [
    ("/admin/users/new", {"login": "x.new", "name": "X", "department": "it"}),
    ("/admin/users/wu.gang/active", {"active": "0"}),
    ("/admin/users/wu.gang/password", {}),
    ("/admin/users/wu.gang/tokens", {"name": "erp"}),
    ("/admin/users/wu.gang/tokens/1/revoke", {}),
    ("/admin/apps", {"path": str(EXAMPLES / "leave_request")}),
]


def _secret(answer) -> str:
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    found = SECRET.search(answer.get_data(as_text=True))
    assert found, answer.get_data(as_text=True)
    return found.group(1)


@pytest.fixture
def admin(browser):
    assert browser.sign_in("admin").status_code == 302
    return browser


def test_an_admin_sees_the_link_and_lists_and_searches_users(admin):
    page = admin.get("/").get_data(as_text=True)
    assert 'id="admin-link"' in page
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "sun.li" in page and "hz.boss" in page and "DL-HZ-001" in page
    assert "table-responsive" in page
    page = admin.get("/admin/users?q=BOSS").get_data(as_text=True)
    assert "hz.boss" in page and "gz.boss" in page and "sun.li" not in page
    assert "dealer_admin" in page  # roles are listed


def test_an_admin_creates_a_user_who_signs_in_with_the_shown_password(site, admin):
    _app, service = site
    admin.get("/admin/users/new")
    answer = admin.post(
        "/admin/users/new",
        {"login": "new.person", "name": "新人", "department": "it", "roles": ["finance"]},
    )
    password = _secret(answer)
    made = service.org.user(SYSTEM_ACTOR, "new.person")
    assert made.department == "it" and made.roles == ("finance",) and made.kind == "internal"

    # a dealer's person: choosing a dealer makes an external user
    admin.get("/admin/users/new")
    _secret(
        admin.post("/admin/users/new", {"login": "hz.clerk", "name": "店员", "dealer": "DL-HZ-001"})
    )
    assert service.org.user(SYSTEM_ACTOR, "hz.clerk").kind == "external"

    # a refusal (the login is taken) keeps what was typed and says why
    admin.get("/admin/users/new")
    answer = admin.post("/admin/users/new", {"login": "sun.li", "name": "重名"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "已存在" in page and 'value="重名"' in page

    other = Browser(site[0].test_client())
    answer = other.sign_in("new.person", password)
    # the generated password must be replaced before anything else
    assert answer.status_code == 302 and "/account/password" in answer.location
    assert "/account/password" in other.get("/admin/users").location
    other.get("/account/password")
    chosen = {"current": password, "password": "my-own-pass-1", "confirm": "my-own-pass-1"}
    assert other.post("/account/password", chosen).status_code == 302
    # not an admin: no link, and the pages are not there
    assert 'id="admin-link"' not in other.get("/").get_data(as_text=True)
    assert other.get("/admin/users").status_code == 404


def test_disabling_signs_the_user_out_and_enabling_lets_them_back(site, admin):
    app, service = site
    sun = Browser(app.test_client())
    assert sun.sign_in("sun.li").status_code == 302
    assert sun.get("/").status_code == 200

    admin.get("/admin/users/sun.li")
    answer = admin.post("/admin/users/sun.li/active", {"active": "0"}, follow_redirects=True)
    assert 'id="disabled-badge"' in answer.get_data(as_text=True)
    assert not service.org.user(SYSTEM_ACTOR, "sun.li").active

    answer = sun.get("/")
    assert answer.status_code == 302 and "/signin" in answer.headers["Location"]
    assert Browser(app.test_client()).sign_in("sun.li").status_code == 200  # refused

    admin.get("/admin/users/sun.li")
    admin.post("/admin/users/sun.li/active", {"active": "1"})
    assert Browser(app.test_client()).sign_in("sun.li").status_code == 302


def test_resetting_a_password_shows_a_new_one_once(site, admin):
    app, _service = site
    admin.get("/admin/users/wu.gang")
    password = _secret(admin.post("/admin/users/wu.gang/password"))
    assert Browser(app.test_client()).sign_in("wu.gang").status_code == 200  # the old one
    assert Browser(app.test_client()).sign_in("wu.gang", password).status_code == 302
    # the user page does not show it again
    assert password not in admin.get("/admin/users/wu.gang").get_data(as_text=True)


def test_an_admin_creates_and_revokes_a_token(site, admin):
    _app, service = site
    admin.get("/admin/users/wu.gang")
    token = _secret(admin.post("/admin/users/wu.gang/tokens", {"name": "erp"}))
    assert token.startswith("lc_")
    assert service.org.actor_for_token(token).user_id == "wu.gang"
    page = admin.get("/admin/users/wu.gang").get_data(as_text=True)
    assert "erp" in page and token[:10] in page and token not in page
    token_id = service.org.list_tokens(SYSTEM_ACTOR, "wu.gang")[0].id
    answer = admin.post(f"/admin/users/wu.gang/tokens/{token_id}/revoke", follow_redirects=True)
    assert "令牌已吊销" in answer.get_data(as_text=True)
    assert service.org.actor_for_token(token) is None


def test_the_organisation_pages_list_the_trees(admin):
    page = admin.get("/admin/org/departments").get_data(as_text=True)
    assert "财务中心" in page and "qin.yue" in page
    page = admin.get("/admin/org/roles").get_data(as_text=True)
    assert "xu.feng" in page and "dealer_admin" in page
    page = admin.get("/admin/org/regions").get_data(as_text=True)
    assert "华东大区" in page and "sun.li" in page
    page = admin.get("/admin/org/dealers").get_data(as_text=True)
    assert "DL-HZ-001-01" in page and "wu.gang" in page and "hz.boss" in page
    assert admin.get("/admin/org/nothing").status_code == 404


def test_the_apps_page_lists_apps_and_dry_runs_an_install(site, admin, tmp_path):
    _app, service = site
    page = admin.get("/admin/apps").get_data(as_text=True)
    assert "leave_request" in page and "orders" in page and "purchase" in page
    before = [(a.key, a.version) for a in service.list_apps(SYSTEM_ACTOR)]

    # an installed app, unchanged: no table change
    answer = admin.post("/admin/apps", {"path": str(EXAMPLES / "leave_request")})
    page = answer.get_data(as_text=True)
    assert 'id="plan"' in page and "表结构不变" in page

    # a changed copy: a new field shows as added; nothing is installed
    copy = tmp_path / "leave"
    _copy_tree(EXAMPLES / "leave_request", copy)
    form_file = copy / "forms" / "leave_request.yaml"
    text = form_file.read_text(encoding="utf-8")
    assert "fields:\n" in text
    form_file.write_text(
        text.replace(
            "fields:\n", "fields:\n  phone_extra: {type: text, label: 分机, index: true}\n", 1
        ),
        encoding="utf-8",
    )
    page = admin.post("/admin/apps", {"path": str(copy)}).get_data(as_text=True)
    assert "phone_extra" in page and "新增字段" in page, page
    assert "新增列表索引" in page and "phone_extra__id" in page  # the index it would make
    assert [(a.key, a.version) for a in service.list_apps(SYSTEM_ACTOR)] == before

    # a folder that is not there, or not an app: the problems, on the page
    page = admin.post("/admin/apps", {"path": str(tmp_path / "nope")}).get_data(as_text=True)
    assert 'id="plan-errors"' in page


def _copy_tree(source: Path, target: Path) -> None:
    import shutil

    shutil.copytree(source, target)


@pytest.mark.parametrize("login", ["sun.li", "hz.boss"])
def test_non_admins_get_404_on_every_admin_page_and_post(site, browser, login):
    _app, service = site
    service.org.create_token(SYSTEM_ACTOR, "wu.gang", "erp")
    assert browser.sign_in(login).status_code == 302
    assert 'id="admin-link"' not in browser.get("/").get_data(as_text=True)
    for path in PAGES:
        assert browser.get(path).status_code == 404, path
    browser.get("/")  # a page with a CSRF token
    for path, data in POSTS:
        assert browser.post(path, data).status_code == 404, path
    # nothing changed
    assert service.org.user(SYSTEM_ACTOR, "wu.gang").active
    assert service.org.list_tokens(SYSTEM_ACTOR, "wu.gang")[0].active
    assert len(service.org.list_tokens(SYSTEM_ACTOR, "wu.gang")) == 1
    assert service.org.list_users(SYSTEM_ACTOR, search="x.new").total == 0


def test_signed_out_visitors_are_sent_to_sign_in(browser):
    for path in PAGES:
        answer = browser.get(path)
        assert answer.status_code == 302 and "/signin" in answer.headers["Location"], path


def test_a_post_without_the_csrf_token_is_refused(site, admin):
    _app, service = site
    client = admin.client
    assert client.post("/admin/users/wu.gang/active", data={"active": "0"}).status_code == 400
    assert client.post("/admin/users/wu.gang/tokens", data={"name": "erp"}).status_code == 400
    assert client.post("/admin/users/new", data={"login": "x.y", "name": "X"}).status_code == 400
    assert service.org.user(SYSTEM_ACTOR, "wu.gang").active
    assert service.org.list_tokens(SYSTEM_ACTOR, "wu.gang") == []
    assert service.org.list_users(SYSTEM_ACTOR, search="x.y").total == 0


def test_the_pages_speak_english_too(admin):
    admin.get("/")
    admin.post("/locale", {"locale": "en", "next": "/admin/users"})
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "New user" in page and "Login" in page and "新建用户" not in page
    page = admin.get("/admin/org/dealers").get_data(as_text=True)
    assert "Sales rep" in page


def test_an_actor_the_service_does_not_call_admin_is_not_one(site):
    _app, service = site
    assert service.org.is_admin(Actor("admin"))
    assert not service.org.is_admin(Actor("sun.li"))
    assert service.org.is_admin(SYSTEM_ACTOR)


def test_the_organisation_lists_are_for_admins_only(site):
    from engine.service import PermissionDeniedError

    _app, service = site
    for read in (
        service.org.list_users,
        service.org.departments,
        service.org.roles,
        service.org.regions,
        service.org.dealers,
    ):
        with pytest.raises(PermissionDeniedError):
            read(Actor("sun.li"))
    found = service.org.list_users(Actor("admin"), search="%", page_size=5)
    assert found.total == 0  # a LIKE wildcard is searched for as itself
    first = service.org.list_users(Actor("admin"), page_size=5)
    second = service.org.list_users(Actor("admin"), page=2, page_size=5)
    assert len(first.items) == 5 and first.total == second.total > 5
    assert {u.login for u in first.items}.isdisjoint(u.login for u in second.items)
    depths = {node.code: node.depth for node in service.org.departments(Actor("admin"))}
    assert depths["hq"] == 0 and depths["finance"] == 2
