"""A value that would not convert is explained in one language at a time."""

from __future__ import annotations

import re

from engine.service import SYSTEM_ACTOR, Actor, load_app_text

APP = """
app: stock
version: 1.0.0
name: Stock
---
form: item
name: Item
fields:
  qty: {type: text}
"""
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_a_conversion_problem_reads_in_english_or_in_chinese_never_both(make_service):
    service = make_service()
    service.install_app(SYSTEM_ACTOR, load_app_text(APP))
    service.create_record(Actor("li"), "stock", "item", {"qty": "twelve"})
    numeric = load_app_text(APP.replace("{type: text}", "{type: number}")).form("item")
    (problem,) = service.plan_form_change(SYSTEM_ACTOR, "stock", numeric).problems
    assert problem.value == "twelve"
    assert problem.reason and not CJK.search(problem.reason)
    assert " / " not in str(problem)
    chinese = problem.reason_in("zh-CN")
    assert CJK.search(chinese) and " / " not in chinese
    assert not re.search(r"[A-Za-z]{4,}", chinese.replace("twelve", ""))
