"""The record page's "New version" button on a versioned form (docs/lookups.md): it
copies a locked record into a new draft and shows the copy; a missing day is refused."""

from __future__ import annotations

from pathlib import Path

from engine.definitions import load_app_text
from engine.service import Actor

ADMIN = Actor("admin", frozenset({"admin"}))
APP = Path(__file__).resolve().parents[1] / "scenarios" / "versioned_policy_app.yaml"
PAGE = "/r/policy_demo/rebate_policy/{id}"


def test_new_version_copies_the_record_into_a_draft_and_shows_it(site, browser):
    _app, service = site
    service.install_app(ADMIN, load_app_text(APP.read_text(encoding="utf-8")))
    policy = service.create_record(
        ADMIN,
        "policy_demo",
        "rebate_policy",
        {
            "code": "VOL-Q",
            "valid_from": "2025-07-01",
            "state": "active",
            "tiers": [{"lower": "0", "rate": "0.03"}],
        },
    )
    browser.sign_in("admin")
    page = browser.get(PAGE.format(id=policy.id)).get_data(as_text=True)
    assert 'id="new-version"' in page and "新版本" in page
    answer = browser.post(PAGE.format(id=policy.id) + "/new-version", follow_redirects=True)
    assert "请填写新版本的生效日期" in answer.get_data(as_text=True)
    browser.get(PAGE.format(id=policy.id))
    answer = browser.post(
        PAGE.format(id=policy.id) + "/new-version", {"effective_from": "2025-10-01"}
    )
    assert answer.status_code == 302
    copy_id = int(answer.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    copy = service.get_record(ADMIN, "policy_demo", "rebate_policy", copy_id)
    assert (copy.values["version_no"], copy.values["state"], str(copy.values["valid_from"])) == (
        2,
        "draft",
        "2025-10-01",
    )
    page = browser.get(PAGE.format(id=copy_id)).get_data(as_text=True)
    assert "已创建新版本草稿" in page
