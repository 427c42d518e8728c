import pytest

from engine.fields import FieldValueError, get

text, textarea, richtext = get("text"), get("textarea"), get("richtext")


def test_text_is_trimmed_and_blank_is_none(make_field):
    assert text.coerce(make_field("text"), "  上海经销商  ") == "上海经销商"
    assert text.coerce(make_field("text"), "   ") is None


def test_text_from_excel_numbers_has_no_trailing_point_zero(make_field):
    assert text.coerce(make_field("text"), 12345.0, "excel") == "12345"


def test_text_default_max_length_is_200(make_field):
    field = make_field("text")
    assert text.coerce(field, "x" * 200) == "x" * 200
    with pytest.raises(FieldValueError) as caught:
        text.coerce(field, "x" * 201)
    assert caught.value.code == "max_length"
    assert "at most 200 characters (201 given)" in caught.value.message


def test_text_min_length(make_field):
    with pytest.raises(FieldValueError) as caught:
        text.coerce(make_field("text", min_length=3), "ab")
    assert caught.value.code == "min_length"


def test_pattern_must_match_the_whole_value(make_field):
    field = make_field("text", pattern="[A-Z]{3}")
    assert text.coerce(field, "ABC") == "ABC"
    with pytest.raises(FieldValueError) as caught:
        text.coerce(field, "ABCD")
    assert caught.value.code == "pattern"


def test_pattern_message_from_the_definition_is_shown(make_field):
    message = {"zh-CN": "请输入三位大写字母", "en": "three capital letters"}
    field = make_field("text", pattern="[A-Z]{3}", pattern_message=message)
    with pytest.raises(FieldValueError) as caught:
        text.coerce(field, "ab")
    assert caught.value.message == "three capital letters / 请输入三位大写字母"


def test_invalid_pattern_and_lengths_are_option_problems(make_field):
    problems = text.check_options(make_field("text", pattern="[a-", min_length=300))
    assert [p.path for p in problems] == ["pattern", "min_length"]
    assert "not a valid regular expression" in problems[0].message


def test_text_column_is_a_string_of_max_length_and_searchable(make_field):
    column = text.columns(make_field("text", max_length=50))[0]
    assert (column.kind, column.length) == ("string", 50)
    assert text.columns(make_field("text", max_length=4000))[0].kind == "text"
    assert text.searchable and textarea.searchable and richtext.searchable


def test_textarea_keeps_lines_and_has_a_5000_character_limit(make_field):
    field = make_field("textarea")
    assert textarea.coerce(field, "第一行\r\n第二行", "web") == "第一行\n第二行"
    with pytest.raises(FieldValueError):
        textarea.coerce(field, "x" * 5001)
    assert textarea.columns(field)[0].kind == "text"


def test_richtext_removes_scripts_and_event_handlers(make_field):
    html = '<p onclick="steal()">Hi <b>there</b><script>alert(1)</script></p>'
    assert richtext.coerce(make_field("richtext"), html) == "<p>Hi <b>there</b></p>"


def test_richtext_links_get_noopener_and_lose_javascript_urls(make_field):
    field = make_field("richtext")
    cleaned = richtext.coerce(
        field, '<a href="https://x.cn">ok</a><a href="javascript:x()">bad</a>'
    )
    assert cleaned == (
        '<a href="https://x.cn" rel="noopener noreferrer">ok</a>'
        '<a rel="noopener noreferrer">bad</a>'
    )


def test_richtext_images_keep_only_http_or_relative_sources(make_field):
    field = make_field("richtext")
    html = (
        '<img src="/files/a.png"><img src="data:image/png;base64,xx"><img src="http://a.cn/b.png">'
    )
    assert richtext.coerce(field, html) == (
        '<img src="/files/a.png"><img><img src="http://a.cn/b.png">'
    )


def test_richtext_display_is_plain_text(make_field):
    assert richtext.display(make_field("richtext"), "<p>A &amp; <b>B</b></p>") == "A & B"
