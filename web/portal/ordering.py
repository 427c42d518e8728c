"""Placing an order on a phone: product and quantity per line, a remark.

A dedicated small form rather than the full form page: the dealer picks products (from
the products the service lets them read, with their dealer price) and types
quantities; prices, amounts and the total are computed by the engine when it saves,
and the order page shows them. The server's errors show on their line
(``第 2 行：...``), and what was typed is kept. "Add a line" posts the form back with
one more line (``portal.js`` adds it without a round trip when scripts run).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from engine.service import FlowActionError, RecordValidationError, ServiceError
from web.auth import actor, service
from web.forms_view import _errors_by_place
from web.portal import blueprint
from web.portal.common import granted_form, order_form
from web.text import _, label, shown

#: lines a fresh order form shows, and the most it takes
FIRST_LINES = 2
MAX_LINES = 50


@dataclass(frozen=True)
class OrderShape:
    """Which fields of the order form the portal's form fills."""

    lines: str = "lines"
    product: str = "product"
    qty: str = "qty"
    remark: str = "remark"


SHAPE = OrderShape()


@blueprint.route("/<app_key>/<form_key>/new", methods=["GET", "POST"])
def new_order(app_key: str, form_key: str) -> Any:
    """The order form; POST saves it (``action=add_line`` adds a line instead)."""
    if (app_key, form_key) != order_form():
        abort(404)
    me = actor()
    form = granted_form(me, app_key, form_key)
    if not form.setup.may_create:
        abort(404)
    lines_field = form.definition.field(SHAPE.lines)
    product_field = lines_field.field(SHAPE.product)
    typed = _typed_lines() if request.method == "POST" else []
    remark = (request.form.get("remark") or "")[:2000]
    errors: dict[str, list[str]] = {}
    if request.method == "POST" and request.form.get("action") == "add_line":
        typed.append({"product": "", "qty": ""})
    elif request.method == "POST":
        data: dict[str, Any] = {
            SHAPE.lines: [
                {SHAPE.product: row["product"], SHAPE.qty: row["qty"]}
                for row in typed
                if row["product"] or row["qty"]
            ]
        }
        if remark.strip():
            data[SHAPE.remark] = remark
        try:
            saved = _save(app_key, form_key, data)
        except RecordValidationError as refused:
            errors = _by_line(refused, typed)
            flash(_("Please correct the marked fields"), "danger")
        except ServiceError as refused:
            flash(str(refused), "danger")
        else:
            flash(_("Order placed: %(title)s", title=saved.title or saved.id), "success")
            return redirect(
                url_for("portal.record", app_key=app_key, form_key=form_key, record_id=saved.id)
            )
    while len(typed) < FIRST_LINES:
        typed.append({"product": "", "qty": ""})
    return render_template(
        "portal/order_form.html",
        form=form,
        lines=typed[:MAX_LINES],
        remark=remark,
        products=_products(me, app_key, product_field),
        errors=errors,
        labels={
            "product": label(product_field.label) or _("Product"),
            "qty": label(lines_field.field(SHAPE.qty).label) or _("Quantity"),
        },
    ), (400 if errors else 200)


def _typed_lines() -> list[dict[str, str]]:
    """The posted lines in order (``product-N`` / ``qty-N``), as typed."""
    indexes = sorted(
        {
            int(k.split("-", 1)[1])
            for k in request.form
            if k.startswith(("product-", "qty-")) and k.split("-", 1)[1].isdigit() and len(k) < 20
        }
    )
    return [
        {
            "product": (request.form.get(f"product-{i}") or "").strip()[:20],
            "qty": (request.form.get(f"qty-{i}") or "").strip()[:20],
        }
        for i in indexes[:MAX_LINES]
    ]


def _by_line(refused: RecordValidationError, typed: list[dict[str, str]]) -> dict[str, list[str]]:
    """The service's messages by place: ``N`` for line N of the page (counted from 1),
    ``""`` for the order as a whole; ``N.product`` / ``N.qty`` name the inputs to mark. The service counts only the lines sent (blank ones
    are not), so its row numbers are mapped back to the page's lines."""
    sent = [i for i, row in enumerate(typed, start=1) if row["product"] or row["qty"]]
    places: dict[str, list[str]] = {}
    for place, messages in _errors_by_place(refused).items():
        head, _sep, row = place.partition("#")
        if head.split(".")[0] == SHAPE.lines and row.isdigit() and 0 < int(row) <= len(sent):
            key = str(sent[int(row) - 1])
            column = head.partition(".")[2]
            if column in (SHAPE.product, SHAPE.qty):  # the input to mark on that line
                places.setdefault(f"{key}.{column}", [])
        else:
            key = ""
        places.setdefault(key, []).extend(messages)
    return places


def _save(app_key: str, form_key: str, data: dict[str, Any]) -> Any:
    """Submit the order (its flow starts when the form has one), else create it."""
    try:
        return service().flows.submit(actor(), app_key, form_key, data, source="web")
    except FlowActionError as refused:
        if refused.code != "no_flow":
            raise
    return service().create_record(actor(), app_key, form_key, data, source="web")


def _products(me: Any, app_key: str, field: Any) -> list[dict[str, Any]]:
    """The products the person may read (the relation's target form, in their scope),
    with the dealer price when they see it."""
    target = field.option("to")
    shown_as = field.option("display") or "title"
    try:
        found = service().records.query(me, app_key, target, page_size=200).items
    except ServiceError:
        return []
    products = []
    for item in found:
        name = item.values.get(shown_as) if shown_as != "title" else item.title
        price = item.values.get("price")
        unit = item.values.get("unit")
        products.append(
            {
                "id": item.id,
                "name": str(name or item.title or item.id),
                "price": shown(price) if price is not None else "",
                "unit": unit or "",
            }
        )
    return products
