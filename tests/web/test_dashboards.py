"""The dashboards in the web (web/dashboards.py): the menu, the example dashboard's page
with figures of requests made here, filters, the records behind a bar, xlsx exports,
and nobody sees a dashboard of a form they may not read.

The figures expected are computed in the test from the lines inserted (product price ×
quantity), not by the report code. The web runs on the test's clocked service, so
"this month" and "this year" are fixed: today is 2026-12-10.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from io import BytesIO
from urllib.parse import quote, urlencode

import pytest

from engine.service import Actor

PRODUCTS = [
    {"sku": "BOX-A4", "name": "A4 纸箱", "unit": "箱", "price": "19.99"},
    {"sku": "TAPE-48", "name": "封箱胶带 48mm", "unit": "卷", "price": "3.50"},
    {"sku": "LABEL-100", "name": "物流标签 100 张", "unit": "包", "price": "12.80"},
    {"sku": "PALLET", "name": "木托盘", "unit": "个", "price": "85.00"},
]
SUPPLIERS = [{"name": "杭州云栖包装有限公司"}, {"name": "Suzhou Bright Paper Co."}]
#: (who asks (their department), needed by, supplier, [(product, quantity)])
REQUESTS = [
    ("ma.lan", "2026-02-10", 0, [(0, 3), (1, 10)]),
    ("ma.lan", "2026-03-20", 1, [(3, 2)]),
    ("admin", "2026-04-15", 0, [(2, 5)]),
    ("admin", "2026-07-01", 1, [(0, 1), (3, 1)]),
    ("ma.lan", "2026-11-30", 0, [(1, 7)]),
    ("admin", "2026-12-20", 1, [(2, 2)]),
]
DEPARTMENT = {"ma.lan": "channel", "admin": "it"}
DASHBOARD = "/dashboards/purchase/purchasing"


def total_of(lines: list[tuple[int, int]]) -> Decimal:
    return sum((Decimal(PRODUCTS[p]["price"]) * q for p, q in lines), Decimal("0"))


def expected(**where: object) -> Decimal:
    """The sum of the requests' totals matching ``where`` (department, months, supplier)."""
    found = Decimal("0")
    for who, day, supplier, lines in REQUESTS:
        if "department" in where and DEPARTMENT[who] != where["department"]:
            continue
        if "supplier" in where and supplier != where["supplier"]:
            continue
        if "between" in where and not (where["between"][0] <= day <= where["between"][1]):
            continue
        found += total_of(lines)
    return found


def money(value: Decimal) -> str:
    return f"¥{value:,.2f}"


def make_requests(service, clock) -> dict:
    """The suppliers, products and REQUESTS (each made the day before it is needed, by
    its person); then today is 2026-12-10 and the report cache is empty."""
    admin = Actor("admin")
    suppliers = [service.create_record(admin, "purchase", "supplier", s) for s in SUPPLIERS]
    products = [service.create_record(admin, "purchase", "product", p) for p in PRODUCTS]
    records = []
    for who, day, supplier, lines in REQUESTS:
        year, month, date = (int(x) for x in day.split("-"))
        clock.set(year, month, date - 1 if date > 1 else 1, 9, 0)
        data = {
            "supplier": suppliers[supplier].id,
            "needed_by": day,
            "lines": [{"product": products[p].id, "qty": q} for p, q in lines],
        }
        records.append(service.create_record(Actor(who), "purchase", "purchase_request", data))
    clock.set(2026, 12, 10, 10, 0)
    service.reports.cache.clear()
    return {"service": service, "suppliers": suppliers, "products": products, "records": records}


@pytest.fixture
def dashboard_site(site, clock):
    """The web on the clocked service, with the requests of REQUESTS made on their days."""
    app, service = site
    app.extensions["lowcode_service"].close()
    app.extensions["lowcode_service"] = service
    return make_requests(service, clock)


def widget_html(page: str, key: str) -> str:
    """The card of one widget in the page."""
    start = page.index(f'id="widget-{key}"')
    end = page.find('id="widget-', start + 10)
    return page[start : end if end > 0 else len(page)]


def values_in(html: str, marker: str) -> list[str]:
    """The data-value attributes of the elements carrying ``marker`` (a class or id)."""
    return re.findall(rf'{marker}[^>]*data-value="([^"]*)"', html)


def test_the_menu_lists_the_example_dashboard(dashboard_site, browser):
    browser.sign_in("admin")
    page = browser.get("/").get_data(as_text=True)
    assert 'id="dashboards-menu"' in page
    assert 'data-dashboard="purchase/purchasing"' in page and "采购驾驶舱" in page
    listing = browser.get("/dashboards/").get_data(as_text=True)
    assert f'href="{DASHBOARD}"' in listing


def test_the_page_shows_every_widget_with_the_figures_of_the_requests(dashboard_site, browser):
    browser.sign_in("admin")
    answer = browser.get(DASHBOARD)
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    for key in (
        "this_month",
        "requests",
        "spend_by_month",
        "by_department",
        "top_suppliers",
        "status_funnel",
        "department_quarter",
        "recent",
    ):
        assert f'id="widget-{key}"' in page, key
    assert "dash-error" not in page
    year = expected(between=("2026-01-01", "2026-12-31"))
    # KPI: December against November
    december = expected(between=("2026-12-01", "2026-12-31"))
    november = expected(between=("2026-11-01", "2026-11-30"))
    kpi = widget_html(page, "this_month")
    assert money(december) in kpi and f'data-value="{december}"' in kpi
    change = (december - november) / november * 100
    assert f"+{change:.1f}%" in kpi and "text-success" in kpi and money(november) in kpi
    assert 'id="chart-this_month"' in kpi  # the sparkline
    requests = widget_html(page, "requests")  # one request in December, one in November
    assert 'dash-kpi-value" data-value="1"' in requests and "+0.0%" not in requests
    assert 'data-change="0' in requests
    # bar by department: each department's sum and the total, money formatted
    bar = widget_html(page, "by_department")
    assert values_in(bar, "dash-total") == [str(year)]
    assert money(expected(department="channel")) in bar and money(expected(department="it")) in bar
    assert 'id="option-by_department"' in bar and 'data-sets="department"' in bar
    option = re.search(r'id="option-by_department">(.*?)</script>', bar, re.S).group(1)
    chart = json.loads(option)
    assert chart["series"][0]["type"] == "bar" and len(chart["drill"][0]) == 2
    # pivot: the quarters and the grand total
    pivot = widget_html(page, "department_quarter")
    assert values_in(pivot, 'id="pivot-department_quarter-grand"') == [str(year)]
    q1 = expected(between=("2026-01-01", "2026-03-31"))
    assert f'data-value="{q1}"' in pivot and money(q1) in pivot
    # the detail table: the newest needed_by first, each linking to its record
    table = widget_html(page, "recent")
    newest = dashboard_site["records"][-1]
    assert f'href="/r/purchase/purchase_request/{newest.id}"' in table
    assert table.index(f'data-record="{newest.id}"') < table.index(
        f'data-record="{dashboard_site["records"][0].id}"'
    )
    assert "6" in re.search(r"(\d+) 条记录", table).group(1)


def test_a_filter_changes_the_figures(dashboard_site, browser):
    browser.sign_in("admin")
    query = urlencode({"period": "custom", "period.from": "2026-01-01", "period.to": "2026-03-31"})
    page = browser.get(f"{DASHBOARD}?{query}").get_data(as_text=True)
    first_quarter = expected(between=("2026-01-01", "2026-03-31"))
    assert values_in(widget_html(page, "by_department"), "dash-total") == [str(first_quarter)]
    assert 'value="2026-01-01"' in page and 'value="2026-03-31"' in page
    # a department (the filter an interaction of by_department sets) and a preset
    page = browser.get(f"{DASHBOARD}?department=it&period=this_year").get_data(as_text=True)
    assert values_in(widget_html(page, "spend_by_month"), "dash-total") == [
        str(expected(department="it"))
    ]
    # a relation filter: one supplier
    supplier = dashboard_site["suppliers"][1].id
    page = browser.get(f"{DASHBOARD}?supplier={supplier}").get_data(as_text=True)
    assert values_in(widget_html(page, "top_suppliers"), "dash-total") == [
        str(expected(supplier=1))
    ]
    # no restriction at all: the year's requests and nothing else exist
    page = browser.get(f"{DASHBOARD}?period=").get_data(as_text=True)
    assert values_in(widget_html(page, "by_department"), "dash-total") == [str(expected())]


def test_a_bad_filter_value_is_shown_on_the_form_and_the_rest_still_works(dashboard_site, browser):
    browser.sign_in("admin")
    query = urlencode({"period": "custom", "period.from": "2026-05-01", "period.to": "2026-01-01"})
    answer = browser.get(f"{DASHBOARD}?{query}")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert 'id="filter-period-error"' in page and "Traceback" not in page
    # a supplier that is no record number: said on the form, the rest drawn
    page = browser.get(f"{DASHBOARD}?supplier=abc").get_data(as_text=True)
    assert 'id="filter-supplier-error"' in page and "dash-error" not in page
    # drawn without the refused period: every request
    assert values_in(widget_html(page, "by_department"), "dash-total") == [str(expected())]


def test_the_drill_page_lists_exactly_the_records_of_a_bar(dashboard_site, browser):
    browser.sign_in("admin")
    point = json.dumps({"department": "channel"})
    answer = browser.get(f"{DASHBOARD}/drill?widget=by_department&point={quote(point)}")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    channel = [
        r.id
        for r, (who, *_rest) in zip(dashboard_site["records"], REQUESTS, strict=True)
        if DEPARTMENT[who] == "channel"
    ]
    listed = [int(x) for x in re.findall(r'data-record="(\d+)"', page)]
    assert sorted(listed) == sorted(channel)
    assert "3 条记录" in page and "渠道管理部" in page  # a condition chip
    for record_id in channel:
        assert f'href="/r/purchase/purchase_request/{record_id}"' in page
    # the same records on the form's list page, filtered alike
    link = re.search(r'id="drill-list" href="([^"]+)"|href="([^"]+)" id="drill-list"', page)
    listing = browser.get(link.group(2).replace("&amp;", "&")).get_data(as_text=True)
    for record_id in channel:
        assert f"/r/purchase/purchase_request/{record_id}" in listing
    others = set(r.id for r in dashboard_site["records"]) - set(channel)
    assert not any(f'/r/purchase/purchase_request/{i}"' in listing for i in others)
    # the same point inside the first quarter: the two requests of Feb and March
    query = urlencode({"period": "custom", "period.from": "2026-01-01", "period.to": "2026-03-31"})
    page = browser.get(
        f"{DASHBOARD}/drill?widget=by_department&point={quote(point)}&{query}"
    ).get_data(as_text=True)
    assert len(re.findall(r'data-record="(\d+)"', page)) == 2
    # the links the page offers point at the drill page with the point
    dashboard = browser.get(DASHBOARD).get_data(as_text=True)
    assert "/drill?widget=by_department&amp;point=" in dashboard


def test_a_bad_point_or_widget_is_a_message_or_404(dashboard_site, browser):
    browser.sign_in("admin")
    answer = browser.get(f"{DASHBOARD}/drill?widget=by_department&point=not-json")
    assert answer.status_code == 400 and 'id="drill-error"' in answer.get_data(as_text=True)
    assert browser.get(f"{DASHBOARD}/drill?widget=nope&point=%7B%7D").status_code == 404
    assert browser.get("/dashboards/purchase/nope").status_code == 404
    assert browser.get("/dashboards/nope/purchasing").status_code == 404
    big = "9" * 40
    for path in (
        f"{DASHBOARD}?period=%00&department=%00&supplier={big}&page={big}",
        f"{DASHBOARD}?period=custom&period.from=%00&period.to={big}",
        f"{DASHBOARD}/drill?widget=by_department&point=%7B%22department%22%3A%22%00%22%7D",
        f"{DASHBOARD}/drill?widget=by_department&point=%5B%5D&page={big}",
        f"{DASHBOARD}/export.xlsx?widget=%00",
        f"{DASHBOARD}/export.xlsx?period=%00",
    ):
        assert browser.client.get(path).status_code < 500, path


def test_someone_who_may_not_read_the_requests_gets_no_dashboard(dashboard_site, browser):
    browser.sign_in("hz.boss")
    page = browser.get("/").get_data(as_text=True)
    assert 'id="dashboards-menu"' not in page
    assert browser.get(DASHBOARD).status_code == 404
    point = quote(json.dumps({"department": "channel"}))
    assert browser.get(f"{DASHBOARD}/drill?widget=by_department&point={point}").status_code == 404
    assert browser.get(f"{DASHBOARD}/export.xlsx").status_code == 404
    assert "采购驾驶舱" not in browser.get("/dashboards/").get_data(as_text=True)


def test_exports_are_xlsx_attachments_with_the_figures(dashboard_site, browser):
    if not hasattr(dashboard_site["service"].reports, "export_xlsx"):
        pytest.skip("service.reports.export_xlsx is not there yet")
    from python_calamine import CalamineWorkbook

    browser.sign_in("admin")
    answer = browser.client.get(f"{DASHBOARD}/export.xlsx?widget=by_department&department=it")
    assert answer.status_code == 200
    assert answer.mimetype.endswith("spreadsheetml.sheet")
    disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" + quote("采购驾驶舱-各部门采购额.xlsx") in disposition
    book = CalamineWorkbook.from_filelike(BytesIO(answer.data))
    cells = [
        c
        for name in book.sheet_names
        for row in book.get_sheet_by_name(name).to_python()
        for c in row
    ]
    assert "采购额" in cells
    assert any(
        isinstance(c, int | float)
        and abs(Decimal(str(c)) - expected(department="it")) < Decimal("0.005")
        for c in cells
    )
    whole = browser.client.get(f"{DASHBOARD}/export.xlsx")
    assert whole.status_code == 200
    book = CalamineWorkbook.from_filelike(BytesIO(whole.data))
    assert len(book.sheet_names) >= 2


def test_a_pivot_card_shows_subtotals_and_a_kpi_card_its_target(site):
    """The cards of kinds the example does not use, from results written here."""
    from flask import render_template_string

    from web.dashboards import dashboard_words

    app, _service = site
    money_column = {"key": "spend", "label": "采购额", "role": "measure", "format": "money"}
    dims = [
        {"key": "region", "label": "大区", "role": "dimension"},
        {"key": "department", "label": "部门", "role": "dimension"},
        {"key": "needed_by:year", "label": "年", "role": "dimension"},
    ]
    pivot = {
        "measures": ["spend"],
        "columns": [{"keys": ["2025"], "labels": ["2025"]}, {"keys": ["2026"], "labels": ["2026"]}],
        "rows": [
            {
                "keys": ["east", "d1"],
                "labels": ["华东", "一部"],
                "cells": [["1000.50"], None],
                "total": ["1000.50"],
                "kind": "group",
                "drill": [{"region": "east", "department": "d1", "needed_by:year": "2025"}, None],
            },
            {
                "keys": ["east"],
                "labels": ["华东"],
                "cells": [["1000.50"], None],
                "total": ["1000.50"],
                "kind": "subtotal",
                "drill": [],
            },
        ],
        "column_totals": [["1000.50"], None],
        "grand": ["1000.50"],
    }

    def card(data: dict, measures: list, dimensions: list, column_keys: list) -> str:
        view = {
            "data": data,
            "measures": measures,
            "dimensions": dimensions,
            "drill_base": "/d/drill?widget=w",
            "export_url": "/d/export.xlsx?widget=w",
            "sets": "",
            "dimension": "",
            "column_keys": column_keys,
        }
        template = (
            '{% from "_dashboard_widget.html" import widget_card with context %}'
            "{{ widget_card(w) }}"
        )
        with app.test_request_context("/dashboards/x/y"):
            return render_template_string(
                template, w=view, app_key="x", query=[], **dashboard_words()
            )

    base = {"title": "T", "source": "s", "width": 12, "height": 1, "totals": None, "error": None}
    html = card(
        {
            **base,
            "key": "p",
            "kind": "pivot",
            "columns": dims + [money_column],
            "rows": [],
            "chart": None,
            "pivot": pivot,
        },
        [money_column],
        dims,
        ["needed_by:year"],
    )
    # the cell and its row total, the subtotal cell and total, the column total, the grand
    assert html.count("¥1,000.50") == 6
    assert "华东 小计" in html and 'data-kind="subtotal"' in html
    assert html.count('class="dash-drill"') == 1  # only the group cell has a point
    kpi = {
        "value": "1234.5",
        "period": "2026-12-01..2026-12-31",
        "compare": "target",
        "compared": "2000",
        "change": "-0.38275",
        "target": "2000",
        "rate": "0.61725",
    }
    html = card(
        {
            **base,
            "key": "k",
            "kind": "kpi",
            "columns": [money_column],
            "rows": [],
            "chart": None,
            "kpi": kpi,
        },
        [{**money_column, "decimals": 2}],
        [],
        [],
    )
    assert "¥1,234.50" in html and "-38.3%" in html and "text-danger" in html
    assert "61.7%" in html and "<progress" in html and "¥2,000.00" in html


def test_the_detail_table_pages_ten_requests_at_a_time(dashboard_site, browser, clock):
    service = dashboard_site["service"]
    supplier = dashboard_site["suppliers"][0].id
    product = dashboard_site["products"][0].id
    for day in (1, 2, 3, 4, 5):  # five more requests, eleven in all
        clock.set(2026, 6, day, 9, 0)
        data = {"supplier": supplier, "needed_by": f"2026-06-{day + 1:02d}"}
        data["lines"] = [{"product": product, "qty": 1}]
        service.create_record(Actor("ma.lan"), "purchase", "purchase_request", data)
    clock.set(2026, 12, 10, 10, 0)
    service.reports.cache.clear()
    browser.sign_in("admin")
    page = browser.get(f"{DASHBOARD}?department=channel").get_data(as_text=True)
    table = widget_html(page, "recent")
    assert len(re.findall(r'data-record="\d+"', table)) == 8  # 3 + 5 of channel
    page = browser.get(f"{DASHBOARD}").get_data(as_text=True)
    table = widget_html(page, "recent")
    assert len(re.findall(r'data-record="\d+"', table)) == 10 and "11 条记录" in table
    next_page = re.search(r'href="\?([^"]*page=2[^"]*)" class="dash-next"', table).group(1)
    table = widget_html(browser.get(f"{DASHBOARD}?{next_page}").get_data(as_text=True), "recent")
    assert len(re.findall(r'data-record="\d+"', table)) == 1 and "2 / 2" in table
