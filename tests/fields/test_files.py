import pytest

from engine.fields import FieldValueError, get
from engine.fields.files import check_upload, parse_size

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
