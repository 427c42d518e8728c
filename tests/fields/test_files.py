import string

import pytest

from engine.definitions.model import I18nText
from engine.fields import FieldValueError, get
from engine.fields.file_messages import FILE_MESSAGES, file_failure, file_message
from engine.fields.files import check_content, check_upload, clean_file_name, parse_size

attachment, image = get("attachment"), get("image")
SHA = "ab" * 32


def meta(name="quote.pdf", size=1000, **extra):
    return {
        "id": "f1",
        "name": name,
        "size": size,
        "content_type": "application/pdf",
        "sha256": SHA,
        **extra,
    }


@pytest.mark.parametrize(
    "text,size",
    [("10MB", 10 * 1024**2), ("500KB", 500 * 1024), ("1.5 GB", int(1.5 * 1024**3)), ("20mb", 20 * 1024**2),
     ("1024", 1024), (2048, 2048)],
)  # fmt: skip
def test_parse_size_reads_binary_units(text, size):
    assert parse_size(text) == size


def test_parse_size_refuses_unknown_units():
    with pytest.raises(ValueError, match="expected a size like 10MB"):
        parse_size("10 parsecs")


def test_check_upload_refuses_a_wrong_extension(make_field):
    field = make_field("attachment", accept=["pdf", "jpg"])
    check_upload(field, "报价单.PDF", 10)
    with pytest.raises(FieldValueError) as caught:
        check_upload(field, "setup.exe", 10)
    assert caught.value.code == "file_type"
    assert "this field takes pdf, jpg files" in caught.value.message


def test_check_upload_refuses_a_file_over_max_size(make_field):
    field = make_field("attachment", max_size="10MB")
    with pytest.raises(FieldValueError) as caught:
        check_upload(field, "big.pdf", 11 * 1024**2)
    assert caught.value.code == "file_size"
    assert "big.pdf is 11MB; the limit is 10MB" in caught.value.message


def test_default_limit_is_20mb_and_any_extension_for_attachments(make_field):
    field = make_field("attachment")
    check_upload(field, "notes.xyz", 20 * 1024**2)
    with pytest.raises(FieldValueError):
        check_upload(field, "notes.xyz", 20 * 1024**2 + 1)


def test_images_take_common_picture_formats_by_default(make_field):
    field = make_field("image")
    check_upload(field, "shop.webp", 100)
    with pytest.raises(FieldValueError) as caught:
        check_upload(field, "shop.pdf", 100)
    assert caught.value.code == "file_type"


def test_attachment_value_is_a_list_of_metadata(make_field):
    field = make_field("attachment", accept=["pdf"])
    assert attachment.coerce(field, [meta()]) == [meta()]
    assert attachment.columns(field)[0].kind == "json"
    assert attachment.display(field, [meta(), meta(name="b.pdf")]) == "quote.pdf, b.pdf"


def test_attachment_checks_each_file_against_the_field(make_field):
    with pytest.raises(FieldValueError) as caught:
        attachment.coerce(make_field("attachment", accept=["pdf"]), [meta(name="x.doc")])
    assert caught.value.code == "file_type"


def test_attachment_counts_files(make_field):
    field = make_field("attachment", min_files=1, max_files=2)
    with pytest.raises(FieldValueError) as caught:
        attachment.coerce(field, [meta(), meta(), meta()])
    assert caught.value.code == "files_count"
    with pytest.raises(FieldValueError):
        attachment.coerce(make_field("image"), [meta(name=f"{i}.png") for i in range(10)])


def test_attachments_cannot_come_from_a_spreadsheet(make_field):
    with pytest.raises(FieldValueError) as caught:
        attachment.coerce(make_field("attachment"), "quote.pdf", "excel")
    assert "upload them in the form" in caught.value.message


def test_web_posts_file_metadata_as_json_text(make_field):
    raw = '[{"id": "f1", "name": "a.png", "size": 3}]'
    value = image.coerce(make_field("image"), raw, "web")
    assert value == [{"id": "f1", "name": "a.png", "size": 3, "content_type": None, "sha256": None}]


def test_metadata_without_an_id_is_refused(make_field):
    with pytest.raises(FieldValueError) as caught:
        attachment.coerce(make_field("attachment"), [{"name": "a.pdf", "size": 1}])
    assert "upload it first" in caught.value.message


def test_bad_max_size_is_an_option_problem(make_field):
    problems = attachment.check_options(make_field("attachment", max_size="lots"))
    assert [p.path for p in problems] == ["max_size"]


# -- content checked by its leading bytes -------------------------------------------------

PDF, PNG = b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 8
ZIP = b"PK\x03\x04\x14\x00\x06\x00"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.mark.parametrize(
    "name,head,content_type",
    [("q.pdf", PDF, "application/pdf"), ("a.PNG", PNG, "image/png"),
     ("a.jpeg", b"\xff\xd8\xff\xe1", "image/jpeg"), ("a.gif", b"GIF89a\x01\x00", "image/gif"),
     ("a.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
     ("IMG_1.HEIC", b"\x00\x00\x00\x18ftypheic", "image/heic"),
     ("t.xlsx", ZIP, XLSX), ("t.docx", ZIP, "application/vnd.openxmlformats-officedocument."
      "wordprocessingml.document"), ("发票.ofd", ZIP, "application/ofd"),
     ("old.doc", OLE, "application/msword"), ("old.xls", OLE, "application/vnd.ms-excel"),
     ("a.csv", "名称,金额\n钢材,1.50\n".encode(), "text/csv"),
     ("a.csv", "名称,金额\n".encode("gb18030"), "text/csv"),
     ("a.txt", "\ufeffBOM".encode("utf-8"), "text/plain"),
     ("a.txt", "表格".encode("utf-16"), "text/plain"), ("empty.txt", b"", "text/plain")],
)  # fmt: skip
def test_content_matching_its_extension_is_accepted_with_the_detected_type(
    make_field, name, head, content_type
):
    assert check_content(make_field("attachment"), name, head, final=True) == content_type


def test_text_cut_inside_a_character_at_the_end_of_the_head_is_still_text(make_field):
    head = "钢材".encode()[:-1]  # the head ends in the middle of 材
    field = make_field("attachment")
    assert check_content(field, "a.csv", head, final=False) == "text/csv"
    with pytest.raises(FieldValueError):
        check_content(field, "a.csv", head, final=True)


@pytest.mark.parametrize(
    "name,head,looks_like",
    [("quote.pdf", b"MZ\x90\x00\x03", "a Windows program"), ("a.png", b"\x7fELF\x02", "a Linux program"),
     ("notes.txt", b"#!/bin/sh\nrm -rf /", "a script"), ("x.zip", b"MZ\x90\x00", "a Windows program")],
)  # fmt: skip
def test_programs_and_scripts_are_refused_whatever_their_extension(
    make_field, name, head, looks_like
):
    field = make_field("attachment", accept=["pdf", "png", "txt", "zip", "exe"])
    with pytest.raises(FieldValueError) as caught:
        check_content(field, name, head, final=True)
    assert caught.value.code == "file_type"
    assert caught.value.translations["en"] == (
        f"{name} is {looks_like}; programs and scripts cannot be uploaded"
    )


@pytest.mark.parametrize(
    "name,head,looks_like",
    [("q.pdf", PNG, "a PNG image"), ("q.pdf", b"", "an empty file"),
     ("q.png", PDF, "a PDF document"), ("q.pdf", b"hello", "plain text"),
     ("q.xlsx", b"\x00\x01\x02\x03", "an unrecognised format"), ("q.csv", b"a,b\x00c", "an unrecognised format")],
)  # fmt: skip
def test_content_that_is_not_its_declared_type_is_refused(make_field, name, head, looks_like):
    with pytest.raises(FieldValueError) as caught:
        check_content(make_field("attachment"), name, head, final=True)
    assert caught.value.code == "file_type"
    assert f"its content looks like {looks_like};" in caught.value.translations["en"]
    assert "其内容看起来是" in caught.value.translations["zh-CN"]


def test_an_unknown_extension_is_taken_only_when_accept_names_it(make_field):
    with pytest.raises(FieldValueError) as caught:
        check_content(make_field("attachment"), "model.dwg", b"AC1032", final=True)
    assert caught.value.code == "file_type"
    assert "accept list names dwg" in caught.value.translations["en"]
    with pytest.raises(FieldValueError, match="has no extension"):
        check_content(make_field("attachment"), "README", b"hello", final=True)
    field = make_field("attachment", accept=["dwg"])
    assert check_content(field, "model.dwg", b"AC1032", final=True) == "application/octet-stream"


# -- file names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sent,kept",
    [("C:\\fakepath\\报价单.pdf", "报价单.pdf"), ("../../etc/x.pdf", "x.pdf"), ("  a b.pdf ", "a b.pdf"),
     ("q" * 251 + ".pdf", "q" * 251 + ".pdf")],
)  # fmt: skip
def test_a_file_name_keeps_only_its_last_part(sent, kept):
    assert clean_file_name(sent) == kept


@pytest.mark.parametrize(
    "sent,phrase",
    [("a\x00.pdf", "control characters"), ("a\n.pdf", "control characters"),
     ("a.pdf\t", "control characters"), ("invoice\u202efdp.exe", "control characters"),
     ("\udc80.pdf", "invalid Unicode"), ("q" * 252 + ".pdf", "has 256 characters, at most 255"),
     ("", "no name"), ("dir/", "no name"), ("..", "no name")],
)  # fmt: skip
def test_unusable_file_names_are_refused(sent, phrase):
    with pytest.raises(FieldValueError) as caught:
        clean_file_name(sent)
    assert caught.value.code == "file_name"
    assert phrase in caught.value.translations["en"]
    assert "文件名" in caught.value.translations["zh-CN"]


def test_every_file_message_has_both_languages_with_the_same_placeholders():
    for key, (code, text) in FILE_MESSAGES.items():
        assert code in ("file", "file_name", "file_type", "file_size", "files_count", "type"), key
        names = [
            {n for _, n, _, _ in string.Formatter().parse(t) if n} for t in (text.en, text.zh_cn)
        ]
        assert names[0] == names[1], key
        assert text.en != text.zh_cn, key


def test_a_file_message_is_in_one_language_per_locale():
    error = file_failure("other_field", name="a.pdf", label=I18nText("报价单", "Quote"))
    assert error.in_locale("en") == (
        "file a.pdf was uploaded for another field, not 'Quote'; upload it here again"
    )
    assert (
        error.in_locale("zh-CN") == "文件 a.pdf 是为其他字段上传的，不属于“报价单”，请在此重新上传"
    )
    assert file_message("size", "en-GB", name="a.pdf", size="2MB", limit="1MB") == (
        "a.pdf is 2MB; the limit is 1MB"
    )
