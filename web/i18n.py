"""The pages' language: Flask-Babel over the catalogues in ``web/translations``.

Page words are written in English in the code and templates (``_("Sign in")``,
``gettext`` in Python) and translated to zh-CN (the default) by
``web/translations/zh_Hans_CN/LC_MESSAGES/messages.po``; the compiled ``messages.mo`` sits
beside it (tests/web/test_i18n.py checks the two agree and that every word the pages
use has a translation). The language is the signed-in person's choice (kept on their
account) or the browser session's, else zh-CN. Definitions' own bilingual labels follow
the same choice through ``web.text.label``.

To add or change words::

    pybabel extract -F web/babel.cfg -k N_ -k NP_:1c,2 -o /tmp/messages.pot web
    pybabel update -i /tmp/messages.pot -d web/translations -l zh_Hans_CN
    (translate the new entries in messages.po)
    pybabel compile -d web/translations
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, session
from flask_babel import Babel

#: the languages of the pages, as the organisation stores them
LOCALES = ("zh-CN", "en")
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
babel = Babel()


def locale() -> str:
    """The locale of this request: the signed-in user's choice, else zh-CN."""
    chosen = session.get("locale")
    return chosen if chosen in LOCALES else "zh-CN"


def _babel_locale() -> str:
    # Babel names Simplified Chinese of China zh_Hans_CN (the catalogue's folder)
    return "en" if locale() == "en" else "zh_Hans_CN"


def N_(text: str) -> str:  # noqa: N802 - the marker name pybabel's extractor knows
    """Mark a word for the catalogue where it is declared; translate it where shown."""
    return text


def NP_(context: str, text: str) -> str:  # noqa: N802 - as N_, with a context
    """Mark a word with its context (the same English said two ways in Chinese)."""
    return text


def install_i18n(app: Flask) -> None:
    """Flask-Babel on ``app``: the locale per request, the catalogues, Shanghai time."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "zh_Hans_CN")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=_babel_locale)
