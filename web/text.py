"""Words of the pages in zh-CN (default) and en, and locale-aware formatting.

Templates call ``_("中文", "English")``; the actor's locale picks one. Definitions'
own bilingual labels (``I18nText``) follow the same locale through ``label()``.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, session

SHANGHAI = ZoneInfo("Asia/Shanghai")
LOCALES = ("zh-CN", "en")


def locale() -> str:
    """The locale of this request: the signed-in user's choice, else zh-CN."""
    chosen = session.get("locale")
    return chosen if chosen in LOCALES else "zh-CN"


def pick(zh: str, en: str) -> str:
    return en if locale() == "en" else zh


def label(text: Any) -> str:
    """A definition's bilingual text (I18nText or a plain string) in this locale."""
    if text is None:
        return ""
    getter = getattr(text, "get", None)
    return getter(locale()) if callable(getter) and not isinstance(text, dict) else str(text)


def when(value: Any) -> str:
    """A moment in Shanghai time, or a date, as people write it."""
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def shown(value: Any) -> str:
    """A field value for a page: money with thousands separators, lists joined."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return pick("是", "yes") if value else pick("否", "no")
    if isinstance(value, Decimal):
        return f"{value:,.2f}" if value.as_tuple().exponent == -2 else f"{value:,}"
    if isinstance(value, (date, datetime)):
        return when(value)
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
    "pending": ("待处理", "pending"),
    "waiting": ("等待中", "waiting"),
    "approved": ("已同意", "approved"),
    "rejected": ("已拒绝", "rejected"),
    "sent_back": ("已退回", "sent back"),
    "transferred": ("已转交", "transferred"),
    "not_needed": ("无需处理", "not needed"),
    "cc": ("抄送", "copy"),
    "running": ("审批中", "in approval"),
    "in_approval": ("审批中", "in approval"),
    "withdrawn": ("已撤回", "withdrawn"),
    "terminated": ("已终止", "terminated"),
    "suspended": ("已挂起", "suspended"),
    "draft": ("草稿", "draft"),
    "active": ("正常", "active"),
}


def status(name: str) -> str:
    zh, en = STATUS.get(name, (name, name))
    return pick(zh, en)


#: timeline actions as people say them
ACTIONS = {
    "submit": ("提交", "submitted"),
    "resubmit": ("重新提交", "resubmitted"),
    "enter": ("进入", "reached"),
    "approve": ("同意", "approved"),
    "complete": ("办理", "completed"),
    "reject": ("拒绝", "rejected"),
    "send_back": ("退回", "sent back"),
    "transfer": ("转交", "transferred"),
    "add_signer": ("加签", "added signers"),
    "comment": ("评论", "commented"),
    "remind": ("催办", "reminded"),
    "route": ("条件判断", "routed"),
    "cc": ("抄送", "copied"),
    "action": ("自动操作", "automatic action"),
    "auto_pass": ("自动通过", "passed automatically"),
    "auto_reject": ("自动拒绝", "rejected automatically"),
    "timeout": ("超时", "timed out"),
    "withdraw": ("撤回", "withdrew"),
    "terminate": ("终止", "terminated"),
    "suspend": ("挂起", "suspended"),
    "reactivate": ("恢复", "reactivated"),
    "approved": ("审批通过", "approved"),
    "rejected": ("审批拒绝", "rejected"),
}


def action(name: str) -> str:
    zh, en = ACTIONS.get(name, (name, name))
    return pick(zh, en)


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
    app.jinja_env.globals.update(
        _=pick,
        label=label,
        when=when,
        shown=shown,
        status=status,
        action=action,
        seen_values=seen_values,
        display=display,
    )
    app.jinja_env.globals["locale"] = locale
