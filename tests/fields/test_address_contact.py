import pytest

from engine.fields import FieldValueError, get
from engine.fields.contact import MOBILE_MESSAGE

address, phone, email = get("address"), get("phone"), get("email")
HANGZHOU = {"province": "浙江省", "city": "杭州市", "district": "西湖区", "detail": "文三路 1 号"}


def test_address_text_splits_into_three_parts_and_detail(make_field):
    assert (
        address.coerce(make_field("address"), "浙江省 杭州市 西湖区 文三路 1 号", "excel")
        == HANGZHOU
    )


def test_address_from_a_dict_fills_missing_parts_with_none(make_field):
    value = address.coerce(make_field("address"), {"province": "上海市", "detail": " 南京路 "})
    assert value == {"province": "上海市", "city": None, "district": None, "detail": "南京路"}


def test_address_refuses_unknown_parts(make_field):
    with pytest.raises(FieldValueError) as caught:
        address.coerce(make_field("address"), {"street": "x"})
    assert "unknown address part street" in caught.value.message


def test_address_has_four_suffixed_columns(make_field):
    field = make_field("address", key="shop_addr")
    names = [c.name("shop_addr") for c in address.columns(field)]
    assert names == [
        "shop_addr__province",
        "shop_addr__city",
        "shop_addr__district",
        "shop_addr__detail",
    ]
    stored = address.to_storage(field, HANGZHOU)
    assert stored["shop_addr__city"] == "杭州市"
    assert address.from_storage(field, stored) == HANGZHOU
    assert address.from_storage(field, dict.fromkeys(names)) is None


def test_address_display_joins_the_parts(make_field):
    assert address.display(make_field("address"), HANGZHOU) == "浙江省 杭州市 西湖区 文三路 1 号"


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "8613812345678",
        13812345678,
    ],
)
def test_phone_strips_spaces_dashes_and_the_country_code(make_field, raw):
    assert phone.coerce(make_field("phone"), raw, "excel") == "13812345678"


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "021-12345678", "abc"])
def test_phone_refuses_non_mobile_numbers_with_a_bilingual_message(make_field, raw):
    with pytest.raises(FieldValueError) as caught:
        phone.coerce(make_field("phone"), raw)
    assert caught.value.message == MOBILE_MESSAGE
    assert caught.value.code == "pattern"


def test_email_lower_cases_the_domain_only(make_field):
    assert email.coerce(make_field("email"), " Zhang.Wei@Example.COM ") == "Zhang.Wei@example.com"


@pytest.mark.parametrize("raw", ["zhang", "a@b", "a@@b.cn", "a b@c.cn", "a@-x.cn"])
def test_email_refuses_malformed_addresses(make_field, raw):
    with pytest.raises(FieldValueError) as caught:
        email.coerce(make_field("email"), raw)
    assert "name@example.com" in caught.value.message
