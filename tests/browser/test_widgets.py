"""The form page's widgets in Chromium (tests/widget_app): pick a user and departments
by name, cascade an address, upload an image and see its preview, a refused file told
next to its field before any upload, rich text, and a signature drawn with a finger on
a phone; then the record page shows them all."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from engine.definitions import load_app
from engine.service import Actor
from tests.browser.conftest import assert_no_horizontal_scroll, sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips (fails under CI=true) with the reason
    expect = None

pytestmark = pytest.mark.browser

WIDGET_APP = Path(__file__).resolve().parents[1] / "widget_app"
NEW = "/f/widgets/visit/new"


def _png(width: int, height: int) -> bytes:
    """A real PNG: an orange picture of ``width``×``height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xf0\x90\x20" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def widget_site(live_site):
    live_site.service.install_app(Actor("admin"), load_app(WIDGET_APP))
    return live_site


def _loaded(image: Any) -> bool:
    return image.evaluate("img => img.complete && img.naturalWidth > 0")


def test_fill_every_widget_and_see_them_on_the_record_page(widget_site, desktop, shot):
    page = desktop
    sign_in(page, widget_site, "wu.gang")
    page.goto(widget_site.at(NEW))
    page.fill("#f-subject", "西湖店五月拜访")

    # a user by name: the search box narrows the list
    owner_box = page.locator('[data-field="owner"]')
    owner_box.locator(".org-filter").fill("孙丽")
    expect(owner_box.locator('option[value="chen.xiao"]')).to_be_hidden()
    page.select_option("#f-owner", label="孙丽")
    page.select_option("#f-teams", ["sales_east", "channel"])
    page.select_option("#f-dealer", label="杭州恒泰商贸有限公司")

    # the address cascades: province, then its cities, then the city's districts
    expect(page.locator("#f-shop_address__city")).to_be_disabled()
    page.select_option("#f-shop_address", "浙江省")
    expect(page.locator('#f-shop_address__city option[value="杭州市"]')).to_have_count(1)
    page.select_option("#f-shop_address__city", "杭州市")
    expect(page.locator('#f-shop_address__district option[value="西湖区"]')).to_have_count(1)
    expect(page.locator('#f-shop_address__district option[value="东城区"]')).to_have_count(0)
    page.select_option("#f-shop_address__district", "西湖区")
    page.fill("#f-shop_address__detail", "文三路 1 号")

    # an image uploads at once and shows its preview
    page.set_input_files(
        "#f-photos", files=[{"name": "门头.png", "mimeType": "image/png", "buffer": _png(60, 40)}]
    )
    preview = page.locator('[data-field="photos"] img.file-thumb')
    expect(preview).to_have_count(1)
    expect(page.locator('[data-field="photos"] .file-link')).to_have_text("门头.png")
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-field=photos] img.file-thumb');"
        " return i && i.complete && i.naturalWidth === 60; }"
    )

    # a refused file is told next to its field, before any upload, and nothing is lost
    page.set_input_files(
        "#f-contract", files=[{"name": "scan.png", "mimeType": "image/png", "buffer": _png(2, 2)}]
    )
    expect(page.locator('[data-field="contract"] .file-error')).to_contain_text("scan.png")
    expect(page.locator('[data-field="contract"] .file-error')).to_contain_text("pdf")
    expect(page.locator('[data-field="contract"] .file-item')).to_have_count(0)
    expect(page.locator("#f-subject")).to_have_value("西湖店五月拜访")

    # rich text: bold from the toolbar, the HTML kept in the hidden input
    page.click("#f-notes")
    page.keyboard.type("门店陈列良好。")
    page.click('[data-field="notes"] [data-command="bold"]')
    page.keyboard.type("下周补货")
    # Chromium marks bold with <b>
    expect(page.locator("#f-notes b")).to_have_text("下周补货")
    assert "<b>下周补货</b>" in page.locator('input[name="notes"]').input_value()

    # a signature with the mouse
    box = page.locator("#f-signed_by").bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 100)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 20 + step * 25, box["y"] + 100 - (step % 3) * 30)
    page.mouse.up()
    shot(page, "filled")

    page.click("#submit")
    page.wait_for_url("**/r/widgets/visit/*")
    shot(page, "record")
    fields = page.locator("#fields")
    expect(fields).to_contain_text("孙丽")
    expect(fields).to_contain_text("渠道管理部, 华东销售部")  # the organisation's order
    expect(fields).to_contain_text("浙江省 杭州市 西湖区 文三路 1 号")
    expect(fields.locator(".file-link")).to_have_text("门头.png")
    expect(fields.locator(".richtext-view b")).to_have_text("下周补货")
    for image in (fields.locator("img.file-thumb"), fields.locator("img.signature-image")):
        expect(image).to_have_count(1)
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
    record_id = int(page.url.rsplit("/", 1)[1])
    values = widget_site.service.get_record(Actor("admin"), "widgets", "visit", record_id).values
    assert values["owner"] == "sun.li" and values["teams"] == ["channel", "sales_east"]
    assert values["shop_address"]["district"] == "西湖区"
    assert values["signed_by"][0]["name"] == "signature.png"
    assert values["signed_by"][0]["content_type"] == "image/png"


def _touch_stroke(page: Any, selector: str, points: list[tuple[float, float]]) -> None:
    """A finger drawn across ``selector`` (real touch events through the DevTools
    protocol, as a phone's screen sends them)."""
    box = page.locator(selector).bounding_box()
    cdp = page.context.new_cdp_session(page)

    def touch(kind: str, x: float, y: float) -> None:
        at = [] if kind == "touchEnd" else [{"x": box["x"] + x, "y": box["y"] + y}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": at})

    touch("touchStart", *points[0])
    for x, y in points[1:]:
        touch("touchMove", x, y)
    touch("touchEnd", *points[-1])
    cdp.detach()


def test_sign_with_a_finger_on_a_phone(widget_site, phone, shot):
    page = phone
    # a dealer's person has no form page (docs/portal.md; what they may pick is tested in
    # tests/web/test_widgets.py): staff sign on the phone
    sign_in(page, widget_site, "hz.boss")
    assert page.goto(widget_site.at(NEW)).status == 404
    sign_in(page, widget_site, "wu.gang")
    page.goto(widget_site.at(NEW))
    page.fill("#f-subject", "杭州门店签收")
    page.select_option("#f-dealer", "DL-HZ-001")
    page.locator("#f-signed_by").scroll_into_view_if_needed()
    scrolled = page.evaluate("window.scrollY")
    _touch_stroke(page, "#f-signed_by", [(30 + i * 20, 80 + (-1) ** i * 25) for i in range(12)])
    assert page.evaluate("window.scrollY") == scrolled, "drawing scrolled the page"
    inked = page.evaluate(
        """() => { const c = document.getElementById('f-signed_by');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i]) n++; } return n; }"""
    )
    assert inked > 200, f"the stroke left {inked} inked pixels"
    shot(page, "signed")
    assert_no_horizontal_scroll(page)

    page.click("#submit")
    page.wait_for_url("**/r/widgets/visit/*")
    signature = page.locator("#fields img.signature-image")
    expect(signature).to_have_count(1)
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=signature.element_handle()
    )
    shot(page, "record")
    assert_no_horizontal_scroll(page)


def test_clear_empties_the_signature(widget_site, desktop, shot):
    page = desktop
    sign_in(page, widget_site, "wu.gang")
    page.goto(widget_site.at(NEW))
    page.fill("#f-subject", "无签名")
    box = page.locator("#f-signed_by").bounding_box()
    page.mouse.move(box["x"] + 10, box["y"] + 10)
    page.mouse.down()
    page.mouse.move(box["x"] + 200, box["y"] + 120)
    page.mouse.up()
    page.click('[data-field="signed_by"] .signature-clear')
    page.click("#submit")
    page.wait_for_url("**/r/widgets/visit/*")
    record_id = int(page.url.rsplit("/", 1)[1])
    values = widget_site.service.get_record(Actor("admin"), "widgets", "visit", record_id).values
    assert values.get("signed_by") is None
