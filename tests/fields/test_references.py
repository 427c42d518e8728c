import pytest

from engine.fields import FieldValueError, get

boolean, user, department, relation = (
    get("boolean"),
    get("user"),
    get("department"),
    get("relation"),
)


@pytest.mark.parametrize(
    "raw,expected",
    [(True, True), ("true", True), ("是", True), ("1", True), ("yes", True), ("Y", True),
     ("on", True), (1, True), (False, False), ("FALSE", False), ("否", False), ("0", False),
     ("no", False), ("n", False), (0, False)],
)  # fmt: skip
def test_boolean_reads_the_usual_words(make_field, raw, expected):
    assert boolean.coerce(make_field("boolean"), raw, "web") is expected


def test_boolean_refuses_other_words(make_field):
    with pytest.raises(FieldValueError) as caught:
        boolean.coerce(make_field("boolean"), "maybe")
    assert "是/否" in caught.value.message
    with pytest.raises(FieldValueError):
        boolean.coerce(make_field("boolean"), 2)


def test_boolean_display_reads_back(make_field):
    field = make_field("boolean")
    assert boolean.display(field, True) == "是"
    assert boolean.display(field, False, "en") == "No"
    assert boolean.coerce(field, boolean.display(field, False), "excel") is False
    assert boolean.coerce(field, None) is None


def test_user_is_a_string_id_in_an_indexed_column(make_field):
    field = make_field("user")
    assert user.coerce(field, " zhang.wei ") == "zhang.wei"
    assert user.coerce(field, 1001, "excel") == "1001"
    column = user.columns(field)[0]
    assert (column.kind, column.length, column.indexed) == ("string", 64, True)


def test_many_users_are_a_list_in_a_json_column(make_field):
    field = make_field("user", many=True)
    assert user.coerce(field, ["a", "b", "a"]) == ["a", "b"]
    assert user.coerce(field, "a, b", "excel") == ["a", "b"]
    assert user.columns(field)[0].kind == "json"
    assert user.value_schema(field)["type"] == "array"


def test_department_id_length_is_limited(make_field):
    with pytest.raises(FieldValueError) as caught:
        department.coerce(make_field("department"), "d" * 65)
    assert caught.value.code == "max_length"


def test_relation_value_is_a_record_id(make_field):
    field = make_field("relation", to="supplier", display="name")
    assert relation.coerce(field, 12) == 12
    assert relation.coerce(field, "12", "web") == 12
    assert relation.coerce(field, "#12", "excel") == 12
    assert relation.coerce(field, 12.0, "excel") == 12
    column = relation.columns(field)[0]
    assert (column.kind, column.indexed) == ("integer", True)


def test_relation_refuses_non_ids(make_field):
    field = make_field("relation", to="supplier")
    for raw in ("abc", -1, True, 1.5):
        with pytest.raises(FieldValueError):
            relation.coerce(field, raw)


def test_many_relation_is_a_list_of_ids(make_field):
    field = make_field("relation", to="product", many=True)
    assert relation.coerce(field, "3, 4", "web") == [3, 4]
    assert relation.from_storage(field, {"f": [3, 4]}) == [3, 4]
    assert relation.columns(field)[0].kind == "json"


def test_relation_options_check_target_and_fill_from(make_field):
    good = make_field("relation", to="product", fill_from={"price": "price", "unit": "unit"})
    assert relation.check_options(good) == []
    bad = make_field("relation", to="Product", fill_from={"price": "Price!"})
    assert [p.path for p in relation.check_options(bad)] == ["to", "fill_from.price"]
    many = make_field("relation", to="product", many=True, fill_from={"price": "price"})
    assert [p.path for p in relation.check_options(many)] == ["fill_from"]
