"""Wrong arguments of the service API: one clear InvalidArgumentError, the same on both databases.

The cases a probe of the service found escaping as raw driver errors (OverflowError on
SQLite, NumericValueOutOfRange or InvalidTextRepresentation with the SQL on PostgreSQL,
UnicodeEncodeError, "LIKE or GLOB pattern too complex", AttributeError...). Each test
runs on SQLite and PostgreSQL and asserts the exact message, so both give the same one.
"""

from __future__ import annotations

import pytest

from engine.service import Actor, Filter, InvalidArgumentError, QueryError

EN = Actor("zhang.wei", locale="en")
ZH = Actor("zhang.wei")
MAX_ID = 2**63 - 1
ID_EXPECTED = f"a whole number (int) from 1 to {MAX_ID}"


@pytest.fixture
def stocked(purchase):
    acme = purchase.create_record(EN, "purchase", "supplier", {"name": "Acme", "rating": 4})
    purchase.create_record(EN, "purchase", "supplier", {"name": "Brio"})
    return purchase, acme.id


NOT_IDS = [
    (2**63, "9223372036854775808"),
    (-(2**63) - 1, "-9223372036854775809"),
    (0, "0"),
    (1.6, "1.6"),
    ("1 OR 1=1", "'1 OR 1=1'"),
    ("2", "'2'"),
    (True, "True"),
    (None, "None"),
]


def test_a_record_id_that_is_no_id_is_refused_on_every_read_and_write(stocked):
    # cases in one test: a database per case made this file the slowest of the suite
    service, _ = stocked
    for record_id, given in NOT_IDS:
        message = f"record_id must be {ID_EXPECTED}; got {given}"
        calls = [
            (service.get_record, ()),
            (service.record_history, ()),
            (service.update_record, ({"city": "x"},)),
            (service.delete_record, ()),
        ]
        for call, rest in calls:
            with pytest.raises(InvalidArgumentError) as caught:
                call(EN, "purchase", "supplier", record_id, *rest)
            assert str(caught.value) == message
            assert caught.value.argument == "record_id" and caught.value.given == given
    assert [r.values["city"] for r in service.query_records(EN, "purchase", "supplier").items] == [
        None,
        None,
    ]


def test_the_largest_id_is_a_valid_id_that_is_not_found(stocked):
    from engine.service import NotFoundError

    service, _ = stocked
    with pytest.raises(NotFoundError, match=f"has no record {MAX_ID}"):
        service.get_record(EN, "purchase", "supplier", MAX_ID)


def test_messages_are_in_the_actors_language(stocked):
    service, _ = stocked
    with pytest.raises(InvalidArgumentError) as caught:
        service.get_record(ZH, "purchase", "supplier", 1.6)
    assert str(caught.value) == f"参数 record_id 应为 1 到 {MAX_ID} 之间的整数（int），收到 1.6"


WRONG_PAGES = [
    ({"page": 2**63}, "page must be a whole number (int) from 1 to 1000000000; got "),
    ({"page": "1"}, "page must be a whole number (int) from 1 to 1000000000; got '1'"),
    ({"page": 1.5}, "page must be a whole number (int) from 1 to 1000000000; got 1.5"),
    ({"page_size": 0}, "page_size must be a whole number (int) from 1 to 500; got 0"),
    ({"search": 123}, "search must be the text to look for (str) or None; got 123"),
    (
        {"search": "ink\x00"},
        "search contains a NUL character (\\x00), which cannot be stored or searched; "
        "remove it: 'ink\\x00'",
    ),
    (
        {"search": "ink\ud800"},
        "search contains an unpaired surrogate (\\ud800), which is not valid Unicode text; "
        "send it as UTF-8: 'ink\\ud800'",
    ),
    ({"search": "a" * 50_000}, "search is 50000 characters long; at most 200 are allowed"),
    ({"with_total": "yes"}, "with_total must be True or False; got 'yes'"),
]


def test_a_wrong_page_or_search_names_the_argument(stocked):
    service, _ = stocked
    for kwargs, message in WRONG_PAGES:
        with pytest.raises(InvalidArgumentError) as caught:
            service.query_records(EN, "purchase", "supplier", **kwargs)
        assert str(caught.value).startswith(message), str(caught.value)
        assert len(str(caught.value)) < 200


def test_a_search_of_200_characters_runs(stocked):
    service, _ = stocked
    assert service.query_records(EN, "purchase", "supplier", search="Acme" * 50).items == []
    assert len(service.query_records(EN, "purchase", "supplier", search="  acme  ").items) == 1


WRONG_QUERIES = [
    ({"filters": [(5, "eq", "x")]}, "filters[0].field must be text (str); got 5"),
    ({"filters": [{"field": "name"}]}, "filter filters[0] needs the keys 'field' and 'op'"),
    ({"filters": [("name",)]}, "filter filters[0] must be (field, op[, value])"),
    ({"filters": "name=Acme"}, "filters must be a list of filters"),
    ({"filters": [Filter("name", ["eq"])]}, "filters[0].op must be text (str); got ['eq']"),
    ({"sort": 5}, "sort must be a field key such as 'name' or '-total', or a list of them"),
    ({"sort": ["name", 5]}, "sort[1] must be a field key such as 'name'"),
    (
        {"filters": [("name", "contains", "\x00")]},
        "filters[0].value contains a NUL character (\\x00)",
    ),
    (
        {"filters": [("name", "in", ["Acme", "x\ud800"])]},
        "filters[0].value[1] contains an unpaired surrogate (\\ud800)",
    ),
    (
        {"filters": [("name", "contains", "a" * 50_000)]},
        "filters[0].value is 50000 characters long; at most 1000 are allowed",
    ),
    (
        {"filters": [("name", "eq", [[1]])]},
        "filter name eq [1]: expected text, a number, a date or a list of them",
    ),
    ({"filters": [("name", "eq", ["a", "b"])]}, "filter name eq ['a', 'b']: give one value"),
    (
        {"filters": [("id", "eq", 2**63)]},
        "filter id eq 9223372036854775808: outside the range the column holds "
        "(-9223372036854775808 to 9223372036854775807)",
    ),
    ({"filters": [("id", "eq", 1.6)]}, "filter id eq 1.6: expected a whole number"),
    ({"filters": [("id", "eq", "1 OR 1=1")]}, "filter id eq '1 OR 1=1': expected a whole"),
    ({"filters": [("id", "eq", True)]}, "filter id eq True: expected a whole number"),
    ({"filters": [("rating", "gt", 10**30)]}, "filter rating gt 1000000000000"),
    ({"filters": [("status", "eq", 5)]}, "filter status eq 5: expected text"),
]


def test_a_wrongly_typed_filter_or_sort_is_a_query_error(stocked):
    service, _ = stocked
    for kwargs, message in WRONG_QUERIES:
        with pytest.raises(QueryError) as caught:
            service.query_records(EN, "purchase", "supplier", **kwargs)
        assert str(caught.value).startswith(message), str(caught.value)


def test_a_number_beyond_its_column_is_refused_not_sent(stocked):
    service, _ = stocked
    with pytest.raises(QueryError) as caught:
        service.query_records(EN, "purchase", "supplier", filters=[("rating", "gt", 10**30)])
    # the field type refuses it first (at most 18 digits), naming the largest value
    assert "the number is too large: at most 18 digits" in str(caught.value)
    # within the range the same filter runs
    found = service.query_records(EN, "purchase", "supplier", filters=[("rating", "gt", 3)])
    assert [r.values["name"] for r in found.items] == ["Acme"]


def test_an_id_filter_takes_digits_as_text_like_every_filter_value(stocked):
    service, acme = stocked
    found = service.query_records(EN, "purchase", "supplier", filters=[("id", "eq", str(acme))])
    assert [r.id for r in found.items] == [acme]


WRONG_ARGUMENTS = [
    (
        lambda s: s.get_app(EN, 5),
        "app_key must be a key (str) such as 'purchase': lower-case letters, digits and _, "
        "starting with a letter, at most 20 characters; got 5",
    ),
    (lambda s: s.get_app(EN, "purchase\x00"), "app_key must be a key (str)"),
    (lambda s: s.get_form(EN, "purchase", ["supplier"]), "form_key must be a key (str)"),
    (
        lambda s: s.create_record(EN, "purchase", "supplier", [("name", "x")]),
        "data must be a mapping of field key -> value (dict); got [('name', 'x')]",
    ),
    (
        lambda s: s.create_record(EN, "purchase", "supplier", {1: "x"}),
        "the keys of data must be text (str); got 1",
    ),
    (
        lambda s: s.create_record(EN, "purchase", "supplier", {"name": "x"}, source="csv"),
        "source must be one of json, web, excel, import; got 'csv'",
    ),
    (
        lambda s: s.update_record(EN, "purchase", "supplier", 1, {}, expected_version="1"),
        f"expected_version must be a whole number (int) from 1 to {MAX_ID}; got '1'",
    ),
    (
        lambda s: s.publish_form(EN, "purchase", {"key": "supplier"}),
        "form must be a FormDefinition (read it with load_app or load_app_text)",
    ),
    (
        lambda s: s.install_app(EN, "purchase"),
        "app must be an AppDefinition (read it with load_app or load_app_text); got 'purchase'",
    ),
]


def test_wrong_keys_actors_and_data_name_the_argument(stocked):
    service, _ = stocked
    for call, message in WRONG_ARGUMENTS:
        with pytest.raises(InvalidArgumentError) as caught:
            call(service)
        assert str(caught.value).startswith(message), str(caught.value)


def test_without_an_actor_the_message_is_in_the_default_language(stocked):
    service, _ = stocked
    with pytest.raises(InvalidArgumentError) as caught:
        service.get_record(None, "purchase", "supplier", 1)
    assert str(caught.value) == (
        "参数 actor 应为 Actor 对象（engine.service.Actor，user_id 为文本），收到 None"
    )


def test_a_user_id_with_nul_writes_nothing(stocked):
    service, _ = stocked
    with pytest.raises(InvalidArgumentError) as caught:
        service.create_record(Actor("li\x00na"), "purchase", "supplier", {"name": "Cosmo"})
    assert caught.value.argument == "actor.user_id"
    assert service.query_records(EN, "purchase", "supplier").total == 2


def test_deeply_nested_data_gets_the_fields_own_message(stocked):
    """No RecursionError: the field types refuse a nested value where a scalar belongs."""
    from engine.service import RecordValidationError

    service, _ = stocked
    value: object = "x"
    for _ in range(5000):
        value = [value]
    with pytest.raises(RecordValidationError) as caught:
        service.create_record(EN, "purchase", "supplier", {"name": value, "city": {"a": value}})
    # the wording is the field types' (engine/fields); where it points is checked here
    assert [(e.field, e.code) for e in caught.value.errors] == [("name", "type"), ("city", "type")]


def test_a_list_field_is_filtered_by_blank_only_and_never_sorted(stocked):
    """Files and multiselects are JSON: PostgreSQL has no order or equality for them."""
    service, _ = stocked
    form = ("purchase", "purchase_request")
    assert service.query_records(EN, *form, filters=[("quote", "blank")]).total == 0
    with pytest.raises(QueryError) as caught:
        service.query_records(EN, *form, filters=[("quote", "contains", "x")])
    assert str(caught.value) == (
        "filter quote contains: the field holds a list; filter it with blank or not_blank only"
    )
    with pytest.raises(QueryError) as caught:
        service.query_records(EN, *form, sort="-quote")
    assert str(caught.value) == (
        "cannot sort form purchase_request by 'quote': the field holds a list or is stored "
        "in several columns, which has no order"
    )


def test_no_filters_may_be_given_as_none(stocked):
    service, _ = stocked
    assert service.query_records(EN, "purchase", "supplier", filters=None).total == 2
