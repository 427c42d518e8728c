"""``signature``: one PNG drawing, uploaded and checked like an image."""

from __future__ import annotations

import pytest

from engine.fields import FieldValueError, get
from engine.fields.files import FILE_TYPE_NAMES, check_content, check_upload

signature = get("signature")
PNG_HEAD = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


def item(name="signature.png", size=2000, file_id="s1"):
    return {"id": file_id, "name": name, "size": size, "content_type": "image/png"}


def test_a_signature_is_a_file_type(make_field):
    assert FILE_TYPE_NAMES == ("attachment", "image", "signature")
    field = make_field("signature")
    assert signature.columns(field)[0].kind == "json"
    assert signature.value_schema(field)["maxItems"] == 1
    assert signature.coerce(field, [item()])[0]["name"] == "signature.png"
    assert signature.coerce(field, None) is None


def test_a_signature_holds_one_png(make_field):
    field = make_field("signature")
    with pytest.raises(FieldValueError) as caught:
        signature.coerce(field, [item(file_id="a"), item(file_id="b")])
    assert caught.value.code == "files_count"
    with pytest.raises(FieldValueError) as caught:
        check_upload(field, "signature.jpg", 100)
    assert caught.value.code == "file_type" and "png" in caught.value.message
    assert check_content(field, "signature.png", PNG_HEAD, final=True) == "image/png"


def test_a_signature_is_small_unless_the_field_says_otherwise(make_field):
    with pytest.raises(FieldValueError) as caught:
        check_upload(make_field("signature"), "signature.png", 1024 * 1024 + 1)
    assert caught.value.code == "file_size" and "1MB" in caught.value.message
    check_upload(make_field("signature", max_size="2MB"), "signature.png", 1024 * 1024 + 1)
    assert signature.check_options(make_field("signature", max_size="big")) != []
