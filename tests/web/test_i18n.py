"""The pages' catalogues (web/translations): every word the code and templates ask for
has a zh-CN translation, nothing in the catalogue is left unused, the compiled .mo says
what the .po says, and a page switched to English speaks English."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from tests.web.conftest import Browser

WEB = Path(__file__).resolve().parents[2] / "web"
CATALOGUE = WEB / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
KEYWORDS = {"_": None, "gettext": None, "N_": None, "NP_": ((1, "c"), 2), "pgettext": ((1, "c"), 2)}
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
#: Chinese characters
HAN = re.compile(r"[\u4e00-\u9fff]")


def _asked() -> dict[tuple[str | None, str], str]:
    """(context, message id) -> where the code or a template asks for it."""
    found = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(WEB), METHODS, keywords=KEYWORDS
    ):
        text = message[0] if isinstance(message, tuple) else message
        if text:
            found[(context, text)] = f"web/{filename}:{lineno}"
    return found


def _catalogue():
    with (CATALOGUE / "messages.po").open("rb") as po:
        return read_po(po, locale="zh_Hans_CN")


def test_every_word_asked_for_has_a_translation():
    catalogue = _catalogue()
    missing = [
        f"{where}: {text!r}"
        for (context, text), where in sorted(_asked().items(), key=lambda item: item[1])
        if not (found := catalogue.get(text, context=context)) or not found.string or found.fuzzy
    ]
    assert not missing, "add these to messages.po (see web/i18n.py):\n" + "\n".join(missing)


def test_the_catalogue_holds_nothing_unused():
    asked = _asked()
    unused = [m.id for m in _catalogue() if m.id and (m.context, m.id) not in asked]
    assert not unused, f"remove from messages.po: {unused}"


def test_the_compiled_catalogue_says_what_the_po_says():
    catalogue = _catalogue()
    expected = BytesIO()
    write_mo(expected, catalogue)
    with (CATALOGUE / "messages.mo").open("rb") as mo:
        compiled = read_mo(mo)
    expected.seek(0)
    rebuilt = read_mo(expected)
    pairs = {(m.context, m.id): m.string for m in rebuilt if m.id}
    assert pairs == {(m.context, m.id): m.string for m in compiled if m.id}, (
        "run `pybabel compile -d web/translations`"
    )


def test_pages_in_english_carry_no_chinese_words_of_their_own(site):
    """Switched to English, the page's own words are English; Chinese left on the page
    comes only from data (names, titles) and the switch back to 中文."""
    app, _service = site
    person = Browser(app.test_client())
    person.sign_in("admin")
    person.get("/")
    person.post("/locale", {"locale": "en", "next": "/"})
    for path in ("/", "/tasks/", "/account", "/admin/users/new", "/admin/apps"):
        page = person.get(path).get_data(as_text=True)
        assert 'lang="en"' in page, path
        # data: the organisation's role, department and dealer names
        chrome = re.sub(
            r"<option[^>]*>[^<]*</option>|<label class=\"form-check-label[^>]*>[^<]*</label>",
            "",
            page,
        )
        words = "".join(sorted(set(HAN.findall(chrome.replace("中文", "")))))
        assert words == "", (path, words)


def test_values_are_shown_as_people_of_the_locale_write_them(site):
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from flask import session

    from web.text import shown, when

    app, _service = site
    address = {
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "文三路 1 号",
    }
    with app.test_request_context("/"):
        assert shown(Decimal("1234567.50")) == "1,234,567.50"
        assert shown(address) == "浙江省 杭州市 西湖区 文三路 1 号"
        assert shown(True) == "是"
        assert when(datetime(2026, 3, 5, 6, 5, tzinfo=UTC)) == "2026-03-05 14:05"
    with app.test_request_context("/"):
        session["locale"] = "en"
        assert shown(True) == "yes" and shown(Decimal("12")) == "12"
        assert when(datetime(2026, 3, 5, 6, 5, tzinfo=UTC)) == "Mar 5, 2026, 2:05 PM"
        assert when(date(2026, 3, 5)) == "Mar 5, 2026"
