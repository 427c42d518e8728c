"""Words of the pages in zh-CN (default) and en, and locale-aware formatting.

Page words are English message ids translated by Flask-Babel's catalogues
(web/i18n.py, ``web/translations``): templates and views call ``_("Sign in")`` or
``_("%(count)s approved", count=n)``. Definitions' own bilingual labels (``I18nText``)
follow the same locale through ``label()``; numbers, money and moments are formatted
for the locale by Babel.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import format_date, format_datetime, format_decimal, gettext, pgettext

from web.i18n import LOCALES, N_, NP_, install_i18n, locale

__all__ = ["LOCALES", "N_", "NP_", "locale", "_"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: an address value's parts (engine/fields/address.py), in the order people write them
ADDRESS_PARTS = ("province", "city", "district", "detail")


def _(message: str, /, **values: Any) -> str:
    """A page word in the request's language, from the catalogue:
    ``_("Sign in")``, ``_("%(count)s approved", count=n)``."""
    return gettext(message, **values)


def label(text: Any) -> str:
    """A definition's bilingual text (I18nText or a plain string) in this locale."""
    if text is None:
        return ""
    getter = getattr(text, "get", None)
    return getter(locale()) if callable(getter) and not isinstance(text, dict) else str(text)


def when(value: Any) -> str:
    """A moment in Shanghai time, or a date, as people of the locale write it
    (zh-CN: ``2026-12-05 14:30``; en: ``Dec 5, 2026, 2:30 PM``)."""
    if isinstance(value, datetime):
        moment = value.astimezone(SHANGHAI)
        if locale() == "en":
            return format_datetime(moment, "MMM d, y, h:mm a")
        return moment.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return format_date(value, "MMM d, y") if locale() == "en" else value.isoformat()
    return "" if value is None else str(value)


def shown(value: Any) -> str:
    """A field value for a page: money with thousands separators, lists joined."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, Decimal):
        # grouped for the locale; money keeps its two decimals
        places = -value.as_tuple().exponent if isinstance(value.as_tuple().exponent, int) else 0
        pattern = "#,##0." + "0" * places if places > 0 else "#,##0"
        return format_decimal(value, format=pattern)
    if isinstance(value, (date, datetime)):
        return when(value)
    if isinstance(value, dict) and not value.keys().isdisjoint(ADDRESS_PARTS):  # an address
        return " ".join(str(value[p]) for p in ADDRESS_PARTS if value.get(p)) or "—"
    if isinstance(value, dict):  # an uploaded file: its name
        return str(value.get("name") or value.get("id") or "")
    if isinstance(value, (list, tuple)):
        return ", ".join(shown(v) for v in value)
    return str(value)


def plain_text(markup: str) -> str:
    """Rich text (sanitised when stored) as its words, for a page that shows it escaped."""
    text = re.sub(r"<[^>]*>", " ", markup)
    return html.unescape(re.sub(r"\s+", " ", text)).strip()


#: task and instance statuses as people say them
STATUS = {
    "pending": NP_("status", "pending"),
    "waiting": NP_("status", "waiting"),
    "approved": NP_("status", "approved"),
    "rejected": NP_("status", "rejected"),
    "sent_back": NP_("status", "sent back"),
    "transferred": NP_("status", "transferred"),
    "not_needed": NP_("status", "not needed"),
    "cc": NP_("status", "copy"),
    "running": NP_("status", "in approval"),
    "in_approval": NP_("status", "in approval"),
    "withdrawn": NP_("status", "withdrawn"),
    "terminated": NP_("status", "terminated"),
    "suspended": NP_("status", "suspended"),
    "draft": NP_("status", "draft"),
    "active": NP_("status", "active"),
}


def status(name: str) -> str:
    """A task's, instance's or record's status as people say it."""
    return pgettext("status", STATUS[name]) if name in STATUS else name


#: timeline actions as people say them
ACTIONS = {
    "submit": NP_("timeline", "submitted"),
    "resubmit": NP_("timeline", "resubmitted"),
    "enter": NP_("timeline", "reached"),
    "approve": NP_("timeline", "approved"),
    "complete": NP_("timeline", "completed"),
    "reject": NP_("timeline", "rejected"),
    "send_back": NP_("timeline", "sent back"),
    "transfer": NP_("timeline", "transferred"),
    "add_signer": NP_("timeline", "added signers"),
    "comment": NP_("timeline", "commented"),
    "remind": NP_("timeline", "reminded"),
    "route": NP_("timeline", "routed"),
    "cc": NP_("timeline", "copied"),
    "action": NP_("timeline", "automatic action"),
    "auto_pass": NP_("timeline", "passed automatically"),
    "auto_reject": NP_("timeline", "rejected automatically"),
    "timeout": NP_("timeline", "timed out"),
    "withdraw": NP_("timeline", "withdrew"),
    "terminate": NP_("timeline", "terminated"),
    "suspend": NP_("timeline", "suspended"),
    "reactivate": NP_("timeline", "reactivated"),
    "approved": NP_("timeline", "request approved"),
    "rejected": NP_("timeline", "request rejected"),
}


def action(name: str) -> str:
    """A timeline entry's action as people say it."""
    return pgettext("timeline", ACTIONS[name]) if name in ACTIONS else name


def seen_values(values: Any) -> str:
    """The values a routing condition saw: ``天数 = 5`` style, no Python reprs."""
    if not isinstance(values, dict):
        return ""
    return ", ".join(f"{key} = {shown(value)}" for key, value in values.items())


def display(
    field: Any,
    value: Any,
    names: dict[str, Any] | None = None,
    titles: dict[int, Any] | None = None,
) -> str:
    """A field's value on a record page: option labels, names of people and
    organisation codes, titles of related records, money with separators."""
    if field.type == "richtext" and isinstance(value, str):
        return plain_text(value) or "—"
    if titles and value in titles and titles[value]:
        return str(titles[value])
    if names and names.get(field.key) not in (None, ""):
        return shown(names[field.key])
    items = field.option("options") if field.type in ("select", "multiselect") else None
    if isinstance(items, (list, tuple)):
        labels = {}
        for item in items:
            if isinstance(item, dict) or hasattr(item, "get"):
                text = item.get("label") or item.get("value")
                labels[str(item.get("value"))] = label(_i18n(text))
        chosen = value if isinstance(value, (list, tuple)) else [value] if value else []
        return ", ".join(labels.get(str(v), str(v)) for v in chosen) or "—"
    return shown(value)


def _i18n(text: Any) -> Any:
    from engine.service import I18nText

    return I18nText.of(text) if isinstance(text, (str, dict)) or hasattr(text, "items") else text


def install_text(app: Flask) -> None:
    """Flask-Babel and the page helpers on ``app``'s templates."""
    install_i18n(app)
    app.jinja_env.globals.update(
        _=_,
        label=label,
        when=when,
        shown=shown,
        status=status,
        action=action,
        seen_values=seen_values,
        display=display,
    )
    app.jinja_env.globals["locale"] = locale
