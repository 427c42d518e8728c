"""The list page in a real Chromium: filter by a money range and an option, sort by a
column, choose and order the columns, save the view, reload and reopen it; on a phone
the page never scrolls sideways."""

from __future__ import annotations

import pytest

from engine.service import Actor
from tests.browser.conftest import assert_no_horizontal_scroll, sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips (fails under CI=true) with the reason
    expect = None

pytestmark = pytest.mark.browser

ADMIN = Actor("admin")
#: (dealer, order date, quantity at 100.00, review)
ORDERS = [
    ("DL-HZ-001", "2026-01-02", 2, "pending"),
    ("DL-HZ-001-01", "2026-01-03", 5, "approved"),
    ("DL-GD-001", "2026-01-04", 1, "approved"),
    ("DL-GD-001-01", "2026-01-05", 10, "rejected"),
    ("DL-HZ-001", "2026-01-06", 3, "approved"),
]


def _orders(service) -> list[str]:
    tea = service.create_record(
        ADMIN, "orders", "product", {"sku": "TEA", "name": "龙井", "price": "100.00"}
    )
    numbers = []
    for dealer, day, qty, review in ORDERS:
        record = service.create_record(
            ADMIN,
            "orders",
            "order",
            {
                "dealer": dealer,
                "order_date": day,
                "lines": [{"product": tea.id, "qty": qty}],
                "review": review,
                "remark": "一条很长的备注，用来看看手机上的表格会不会把页面撑宽" * 2,
            },
        )
        numbers.append(record.values["order_no"])
    return numbers


def _listed(page) -> list[str]:
    return page.locator("#records tbody td[data-column=order_no]").all_inner_texts()


def test_filter_sort_choose_columns_and_save_a_view(live_site, desktop, shot):
    numbers = _orders(live_site.service)
    sign_in(desktop, live_site, "admin")
    desktop.goto(live_site.at("/l/orders/order"))
    expect(desktop.locator("#total")).to_have_text("共 5")
    shot(desktop, "list")

    # a money range and an option: 200..600 and approved -> 300 and 500
    desktop.fill("#f-total-from", "200")
    desktop.fill("#f-total-to", "600")
    desktop.select_option("#f-review", ["approved"])
    desktop.click("#apply-filters")
    expect(desktop.locator("#total")).to_have_text("共 2")
    assert sorted(_listed(desktop)) == sorted([numbers[1], numbers[4]])
    shot(desktop, "filtered")

    # sort by the total, ascending then descending
    desktop.click("#records th[data-column=total] a")
    expect(desktop.locator("#records th[data-column=total]")).to_contain_text("↑")
    assert _listed(desktop) == [numbers[4], numbers[1]]
    desktop.click("#records th[data-column=total] a")
    expect(desktop.locator("#records th[data-column=total]")).to_contain_text("↓")
    assert _listed(desktop) == [numbers[1], numbers[4]]

    # columns: drop the order date, move the total to the front
    desktop.click("#toggle-columns")
    expect(desktop.locator("#list-columns")).to_be_visible()
    desktop.uncheck("#col-order_date")
    for _ in range(3):
        desktop.click("li[data-column=total] .move-up")
    shot(desktop, "column-chooser")
    desktop.click("#apply-columns")
    headings = desktop.locator("#records thead th[data-column]")
    expect(headings.first).to_have_attribute("data-column", "total")
    assert "order_date" not in [
        headings.nth(i).get_attribute("data-column") for i in range(headings.count())
    ]
    expect(desktop.locator("#total")).to_have_text("共 2")

    # save the view, reload, leave it and open it again
    desktop.click("#toggle-views")
    desktop.fill("#view-name", "中等已审")
    desktop.click("#save-view-button")
    expect(desktop.locator("#current-view")).to_have_text("中等已审")
    desktop.reload()
    expect(desktop.locator("#current-view")).to_have_text("中等已审")
    expect(desktop.locator("#total")).to_have_text("共 2")
    shot(desktop, "saved-view")
    desktop.goto(live_site.at("/l/orders/order?reset=1"))
    expect(desktop.locator("#total")).to_have_text("共 5")
    desktop.click("#toggle-views")
    desktop.click("#saved-views a[data-view=中等已审]")
    expect(desktop.locator("#total")).to_have_text("共 2")
    expect(desktop.locator("#f-total-from")).to_have_value("200")
    expect(desktop.locator("#records thead th[data-column]").first).to_have_attribute(
        "data-column", "total"
    )
    assert _listed(desktop) == [numbers[1], numbers[4]]
    shot(desktop, "reopened")


def test_the_list_fits_a_phone(live_site, phone, shot):
    _orders(live_site.service)
    sign_in(phone, live_site, "admin")
    phone.goto(live_site.at("/l/orders/order"))
    expect(phone.locator("#total")).to_have_text("共 5")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    assert_no_horizontal_scroll(phone)
    shot(phone, "list")
    # the filters fold away on a phone and open on a tap
    expect(phone.locator("#list-filter")).to_be_hidden()
    phone.locator("#toggle-filters").tap()
    expect(phone.locator("#list-filter")).to_be_visible()
    phone.fill("#f-total-from", "250")
    phone.locator("#apply-filters").tap()
    expect(phone.locator("#total")).to_have_text("共 3")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    shot(phone, "filtered")
    phone.locator("#pick-all").tap()
    expect(phone.locator("#chosen-count")).to_have_text("已选 3 条")
    phone.locator("#toggle-columns").tap()
    expect(phone.locator("#list-columns")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    shot(phone, "columns")
