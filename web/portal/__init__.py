"""The dealer portal: a blueprint at ``/portal`` for dealer users (external principals),
phone-first (docs/portal.md).

Home (their dealer, counts, links), their dealer's orders with a phone order form,
any other form the app grants the dealer role (a list and a record page), the flow
tasks that ask them to confirm (确认 / 有异议) and their notifications. Each view lives
in a small module of this package; ``guard.py`` keeps them out of every internal page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_login import current_user

from web.extensions import login_manager

blueprint = Blueprint("portal", __name__, url_prefix="/portal")


@blueprint.before_request
def _dealer_users_only() -> Any:
    """Sign in first; a signed-in internal user finds no portal (404)."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    from web.portal.common import require_dealer_user

    require_dealer_user()
    return None


@blueprint.errorhandler(404)
def _not_found(_error: Exception) -> Any:
    """A record out of scope, another dealer's, or none at all: the same portal page."""
    from flask import render_template

    return render_template("portal/not_found.html"), 404


@blueprint.app_context_processor
def _badges() -> dict[str, Any]:
    """``portal_badges()`` for the portal's tab bar: the featured order form, the count
    of pending tasks and of unread messages (asked only when a portal page renders)."""

    def portal_badges() -> dict[str, Any]:
        from web.auth import actor
        from web.portal.common import order_form, waiting

        counts = waiting(actor())
        return {
            "orders": order_form(),
            "tasks": counts["tasks"] or 0,
            "unread": counts["unread"] or 0,
        }

    return {"portal_badges": portal_badges}


# the views register their routes on the blueprint when imported
from web.portal import (  # noqa: E402,F401
    home,
    notifications,
    ordering,
    records,
    tasks,
)
