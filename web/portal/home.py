"""The portal's home: the dealer's name, what waits for them, and where to go."""

from __future__ import annotations

from typing import Any

from flask import render_template

from web.auth import actor, service
from web.portal import blueprint
from web.portal.common import count_of, dealer_name, granted_forms, order_form, person, waiting

#: an order's progress values that still need something to happen
CLOSED_STAGES = ("delivered", "closed")


@blueprint.route("/")
def home() -> Any:
    """Counts (open orders, statements to confirm, unread notifications) and links."""
    me = actor()
    forms = granted_forms(me)
    order_app, order_key = order_form()
    orders = next((f for f in forms if (f.app, f.definition.key) == (order_app, order_key)), None)
    return render_template(
        "portal/home.html",
        dealer=dealer_name(me),
        person=person(),
        orders=orders,
        open_orders=_open_orders(me, orders),
        to_confirm=waiting(me)["tasks"],
        unread=waiting(me)["unread"],
        others=[f for f in forms if f is not orders],
    )


def _open_orders(me: Any, orders: Any) -> int | None:
    """The dealer's orders not yet delivered or closed (a count in their scope)."""
    if orders is None:
        return None
    filters = []
    if "stage" in orders.setup.fields:
        filters.append(("stage", "not_in", list(CLOSED_STAGES)))
    return count_of(
        lambda: (
            service()
            .records.query(me, orders.app, orders.definition.key, filters=filters, page_size=1)
            .total
        )
    )
