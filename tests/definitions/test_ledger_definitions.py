"""Ledger documents and ledger rule actions: built values, located errors at load, the
expiry rule's dates, and the published JSON Schema (docs/schema/ledger.schema.json)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

import engine.service  # noqa: F401  (installs the field types the loader checks against)
from engine.definitions import check_app_text, load_app_text
from engine.definitions.ledger_schema import ledger_schema
from engine.definitions.ledgers import ExpiryRule, parse_expiry
from engine.definitions.schema import render

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schema" / "ledger.schema.json"

HEAD = """app: shop
version: 1.0.0
name: Shop
---
form: order
fields:
  holder: {type: text}
  amount: {type: money}
"""


def test_a_ledger_document_is_built_with_its_defaults():
    app = load_app_text(
        HEAD + "---\nledger: points\naccount: [holder, kind]\nlots: {expires: 30 days}\n"
    )
    (ledger,) = app.ledgers
    assert (ledger.key, ledger.account, ledger.floor, ledger.decimals) == (
        "points",
        ("holder", "kind"),
        Decimal(0),
        2,
    )
    assert ledger.lots is not None and ledger.lots.order == "nearest_expiry"
    assert ledger.lots.expires == ExpiryRule(30, "day")
    assert ledger.timezone == "Asia/Shanghai"


@pytest.mark.parametrize(
    ("text", "posted", "last_day"),
    [
        # CHANNEL_DOMAIN C5/C19: the end of the 12th month after the posting month
        ("12 months end of month", date(2025, 4, 8), date(2026, 4, 30)),
        ("12 months end of month", date(2025, 7, 10), date(2026, 7, 31)),
        ("1 month", date(2025, 1, 31), date(2025, 2, 28)),
        ("1 year", date(2024, 2, 29), date(2025, 2, 28)),
        ("30 days", date(2025, 6, 1), date(2025, 7, 1)),
    ],
)
def test_expiry_rules_give_the_last_usable_day(text, posted, last_day):
    rule = parse_expiry(text)
    assert rule is not None and rule.expires_on(posted) == last_day


@pytest.mark.parametrize("text", ["12 moons", "12", "3 days end of month", "", "months 12"])
def test_unreadable_expiry_rules_are_none(text):
    assert parse_expiry(text) is None


def test_ledger_documents_are_checked_with_located_errors():
    text = HEAD + (
        "---\n"
        "ledger: points\n"  # 10
        "account: [holder, kind]\n"
        "floor: 0.001\n"
        "timezone: Mars/Base\n"
        "lots: {expires: 12 moons, order: fifo}\n"
        "---\n"
        "ledger: points\n"  # 16
        "account: holder\n"
        "colour: red\n"
    )
    assert [str(e) for e in check_app_text(text)] == [
        "app.yaml:12:8 floor: the floor 0.001 has more than 2 decimals "
        "(round it to 2 decimals, or raise decimals:)",
        "app.yaml:13:11 timezone: unknown time zone 'Mars/Base' (e.g. Asia/Shanghai)",
        "app.yaml:14:17 lots.expires: cannot read the expiry '12 moons' (write 'N days', "
        "'N months', 'N years' or 'N months end of month', e.g. '12 months end of month')",
        "app.yaml:16:9 ledger: ledger 'points' is defined twice (also in app.yaml) (rename one)",
        "app.yaml:18:1 colour: unknown key 'colour' (allowed keys: ledger, name, description, "
        "account, floor, decimals, timezone, lots)",
    ]


def test_ledger_actions_are_checked_against_the_ledger_and_the_form():
    text = HEAD + (
        "---\n"
        "ledger: points\n"
        "account: [holder, kind]\n"
        "lots: {expires: 12 months end of month}\n"
        "---\n"
        "ledger: deposit\n"
        "account: holder\n"
        "---\n"
        "rule: r1\n"
        "form: order\n"
        "trigger: created\n"
        "actions:\n"
        "  - post: {ledger: pointz, account: {holder: holder, kind: \"'a'\"}, amount: amount}\n"
        "  - consume: {ledger: points, account: {holder: holder}, amount: amont}\n"
        "  - post: {ledger: deposit, account: {holder: holder}, amount: amount, "
        'expires: "TODAY()"}\n'
        "  - consume: {ledger: deposit, account: {holder: holder}}\n"
        "  - release: {ledger: deposit, account: {holder: holder}, amount: amount}\n"
    )
    messages = [str(e) for e in check_app_text(text)]
    assert messages == [
        "app.yaml:21:20 actions[0].post.ledger: the app has no ledger 'pointz' "
        "(did you mean 'points'?)",
        "app.yaml:22:40 actions[1].consume.account: the account misses kind "
        "(give every account field of ledger 'points': holder, kind)",
        messages[2],
        "app.yaml:23:81 actions[2].post.expires: ledger 'deposit' has no lots, so a post has "
        "no expiry (remove expires:, or declare lots: in the ledger)",
        "app.yaml:24:14 actions[3].consume: a consume needs an amount (or from_hold: true to "
        "take the hold's rest) (add amount: <expression>)",
        "app.yaml:25:59 actions[4].release.amount: unknown key 'amount' (did you mean 'account'?)",
    ]
    assert messages[2].startswith("app.yaml:22:") and "amont" in messages[2]


def test_the_published_ledger_schema_matches_the_code():
    Draft202012Validator.check_schema(ledger_schema())
    assert SCHEMA.read_text(encoding="utf-8") == render(ledger_schema()), (
        "docs/schema/ledger.schema.json is out of date; regenerate it with "
        "`python -m engine.definitions.ledger_schema docs/schema`"
    )
