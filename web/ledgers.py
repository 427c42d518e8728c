"""Read-only admin pages of ledgers (docs/ledgers.md), on the ``/admin`` blueprint
(organisation admins only, and ``service.ledgers`` lets app administrators only):

- ``/admin/ledgers``: every installed app's ledgers, each with its accounts' balance,
  held and available amounts;
- ``/admin/ledgers/<app>/<ledger>/account?key=D002&key=rebate``: one account's amounts,
  its lots (what remains of each, its last usable day, whether it was reminded) and its
  entries, oldest first.

Nothing here writes: entries are appended by rules, lots expire by the sweep. A refusal
of the service (an unknown ledger, a wrong number of key values) is a message on the
page. Importing this module adds the routes (``web/__init__.py`` does).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from engine.service import ServiceError
from web.admin import blueprint
from web.auth import actor, service

#: the entries shown on an account's page (the newest)
ENTRIES_SHOWN = 500


def money(value: Any, decimals: int) -> str:
    """An amount as the ledger writes it: 40,000.00 (blank for none)."""
    if value is None:
        return ""
    return f"{Decimal(value):,.{decimals}f}"


@blueprint.route("/ledgers")
def ledgers() -> Any:
    """The ledgers of every installed app with their accounts' amounts."""
    me = actor()
    found: list[dict[str, Any]] = []
    try:
        for app in service().list_apps(me):
            for ledger in service().ledgers.ledgers(me, app.key):
                accounts = service().ledgers.accounts(me, app.key, ledger.key)
                found.append({"app": app, "ledger": ledger, "accounts": accounts})
    except ServiceError as refused:  # a message on the page (never a redirect loop)
        flash(str(refused), "danger")
    return render_template("admin_ledgers.html", found=found, money=money)


@blueprint.route("/ledgers/<app_key>/<ledger_key>/account")
def ledger_account(app_key: str, ledger_key: str) -> Any:
    """One account: its amounts, lots and (newest ``ENTRIES_SHOWN``) entries."""
    me = actor()
    key = [value[:200] for value in request.args.getlist("key")[:10]]
    try:
        definition = next(
            (d for d in service().ledgers.ledgers(me, app_key) if d.key == ledger_key), None
        )
        view = service().ledgers.account(
            me, app_key, ledger_key, key, entries=True, lots=True, limit=ENTRIES_SHOWN
        )
    except ServiceError as refused:
        flash(str(refused), "danger")
        return redirect(url_for("admin.ledgers"))
    return render_template(
        "admin_ledger_account.html",
        app_key=app_key,
        ledger=definition,
        ledger_key=ledger_key,
        view=view,
        money=money,
        decimals=definition.decimals if definition else 2,
    )
