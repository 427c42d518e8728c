"""The example dashboard in a real Chromium: the charts draw with the vendored ECharts
(no console error, no CSP refusal), a filter changes the figures, a click on a bar
filters the dashboard (an interaction) or opens the records behind it, the export
downloads an xlsx, and a phone stacks the widgets.

The figures expected come from tests/web/test_dashboards.py's requests (computed from
the lines inserted); today is pinned to 2026-12-10.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from engine.service import Service
from tests.browser.conftest import (
    LiveSite,
    _prepared_service,
    assert_no_horizontal_scroll,
    sign_in,
)
from tests.web.test_dashboards import DEPARTMENT, REQUESTS, expected, make_requests, money

DASHBOARD = "/dashboards/purchase/purchasing"


@pytest.fixture
def dashboard_live(tmp_path: Path, clock: Any) -> Iterator[LiveSite]:
    """The live site (as tests/browser/conftest.py's) on a clocked service holding the
    requests of tests/web/test_dashboards.py."""
    from werkzeug.serving import make_server

    from web import create_app

    database_url = f"sqlite:///{tmp_path / 'browser.db'}"
    _prepared_service(database_url, tmp_path / "files").close()
    service = Service(database_url, clock=clock, files_dir=tmp_path / "files")
    make_requests(service, clock)
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "FILES_DIR": str(tmp_path / "files"),
            "SECRET_KEY": "browser-test-secret",
        }
    )
    app.extensions["lowcode_service"].close()
    app.extensions["lowcode_service"] = service
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="dashboard-site", daemon=True)
    thread.start()
    try:
        yield LiveSite(f"http://127.0.0.1:{server.server_port}", service)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        service.close()


def _console_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on(
        "console",
        lambda message: (
            errors.append(f"{message.text} {message.location.get('url', '')}")
            # the site serves no favicon (not the dashboard's business)
            if message.type == "error" and "favicon.ico" not in message.location.get("url", "")
            else None
        ),
    )
    return errors


def _charts_drawn(page: Any) -> list[str]:
    """Wait until every chart holds a canvas; the widgets whose ECharts instance exists."""
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.dash-chart'))"
        ".every(el => el.querySelector('canvas') && el.dataset.drawn === '1')"
    )
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('.dash-chart'))"
        ".filter(el => echarts.getInstanceByDom(el)).map(el => el.dataset.widget)"
    )


def _total(page: Any, widget: str) -> str:
    return page.get_attribute(f"#widget-{widget} .dash-total", "data-value")


def _hover_bar(page: Any, widget: str, index: int) -> tuple[float, float]:
    """Move the mouse to the middle of bar ``index`` of a widget's chart (where ECharts
    drew it); the point in the page."""
    element = page.locator(f"#chart-{widget}")
    element.scroll_into_view_if_needed()
    x, y = page.evaluate(
        """([widget, index]) => {
            const chart = echarts.getInstanceByDom(document.getElementById('chart-' + widget));
            const option = chart.getOption();
            const value = option.series[0].data[index];
            const horizontal = option.yAxis[0].type === 'category';
            const point = horizontal ? [value / 2, index] : [index, value / 2];
            return chart.convertToPixel({seriesIndex: 0}, point);
        }""",
        [widget, index],
    )
    box = element.bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    return box["x"] + x, box["y"] + y


def _click_bar(page: Any, widget: str, index: int, modifiers: list[str] | None = None) -> None:
    """Click the middle of bar ``index`` of a widget's chart, holding ``modifiers``."""
    x, y = _hover_bar(page, widget, index)
    for key in modifiers or []:
        page.keyboard.down(key)
    page.mouse.click(x, y)
    for key in modifiers or []:
        page.keyboard.up(key)


def test_the_dashboard_draws_filters_drills_and_exports(dashboard_live, desktop, shot):
    page = desktop
    errors = _console_errors(page)
    sign_in(page, dashboard_live, "admin")
    # the navigation bar's menu opens and leads to the dashboard
    page.click("#dashboards-menu")
    with page.expect_navigation():
        page.click('.dropdown-menu a[data-dashboard="purchase/purchasing"]')
    assert page.url == dashboard_live.at(DASHBOARD)
    drawn = _charts_drawn(page)
    assert {
        "this_month",
        "spend_by_month",
        "by_department",
        "top_suppliers",
        "status_funnel",
    } <= set(drawn)
    assert page.locator(".dash-chart canvas").count() >= 5
    assert _total(page, "by_department") == str(expected())
    shot(page, "dashboard")
    # a tooltip drawn on the canvas names the department and its money
    _hover_bar(page, "by_department", 0)
    page.wait_for_timeout(300)
    page.locator("#widget-by_department").screenshot(path=str(shot.folder / "tooltip.png"))

    # a filter: one department, through the form
    page.select_option("#filter-department", "it")
    page.click("#apply-filters")
    page.wait_for_load_state()
    _charts_drawn(page)
    assert _total(page, "by_department") == str(expected(department="it"))
    assert (
        page.locator("#widget-department_quarter")
        .inner_text()
        .count(money(expected(department="it")))
        >= 1
    )
    shot(page, "filtered-by-department")

    # a click on a bar of by_department sets the department filter (its interaction)
    page.goto(dashboard_live.at(DASHBOARD))
    _charts_drawn(page)
    labels = page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('chart-by_department'))"
        ".getOption().xAxis[0].data"
    )
    channel = labels.index("渠道管理部")
    with page.expect_navigation():
        _click_bar(page, "by_department", channel)
    assert "department=channel" in page.url
    _charts_drawn(page)
    assert _total(page, "spend_by_month") == str(expected(department="channel"))

    # Ctrl-click on the same bar opens its records instead
    with page.expect_navigation():
        _click_bar(page, "by_department", 0, modifiers=["Control"])
    assert "/drill?widget=by_department" in page.url
    page.wait_for_selector("#drill-records")
    channel_count = sum(1 for who, *_rest in REQUESTS if DEPARTMENT[who] == "channel")
    assert page.locator("#drill-records tbody tr").count() == channel_count
    assert f"{channel_count} 条记录" in page.inner_text("#drill-total")
    shot(page, "drill-department")

    # a click on a bar of the ranking (no interaction) opens the drill page
    page.goto(dashboard_live.at(DASHBOARD))
    _charts_drawn(page)
    names = page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('chart-top_suppliers'))"
        ".getOption().yAxis[0].data"
    )
    bright = names.index("Suzhou Bright Paper Co.")
    with page.expect_navigation():
        _click_bar(page, "top_suppliers", bright)
    assert "/drill?widget=top_suppliers" in page.url
    supplier_count = sum(1 for _who, _day, supplier, _lines in REQUESTS if supplier == 1)
    assert page.locator("#drill-records tbody tr").count() == supplier_count
    # each record links to its page
    with page.expect_navigation():
        page.locator("#drill-records tbody tr a").first.click()
    assert "/r/purchase/purchase_request/" in page.url

    # the whole dashboard as xlsx
    page.goto(dashboard_live.at(DASHBOARD))
    with page.expect_download() as download:
        page.click("#export-dashboard")
    assert download.value.suggested_filename.endswith(".xlsx")
    from python_calamine import CalamineWorkbook

    data = Path(download.value.path()).read_bytes()
    book = CalamineWorkbook.from_filelike(BytesIO(data))
    assert len(book.sheet_names) >= 2
    assert not errors, f"console errors: {errors}"


def test_a_phone_stacks_the_widgets(dashboard_live, phone, shot):
    page = phone
    errors = _console_errors(page)
    sign_in(page, dashboard_live, "admin")
    page.goto(dashboard_live.at(DASHBOARD))
    _charts_drawn(page)
    boxes = [
        page.locator(f"#widget-{key}").bounding_box()
        for key in ("this_month", "requests", "spend_by_month", "by_department")
    ]
    # one above the other, each the width of the page
    for upper, lower in zip(boxes, boxes[1:], strict=False):
        assert lower["y"] >= upper["y"] + upper["height"] - 1
        assert abs(lower["x"] - upper["x"]) < 1
    assert all(box["width"] > 375 - 48 for box in boxes)
    assert_no_horizontal_scroll(page)
    # the menu's entry is an icon on a phone: the navigation bar stays one line
    assert page.locator("#dashboards-menu").bounding_box()["height"] <= 48
    shot(page, "phone")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shot.folder / "phone-top.png"))  # the window as one sees it
    assert not errors, f"console errors: {errors}"
