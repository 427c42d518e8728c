"""``index: true`` on a field and ``list.filters``: what a list view is indexed by.

Valid uses build the model (and keep the content hash of forms that do not use them);
what the store cannot index is a located error.
"""

from __future__ import annotations

from engine.definitions import load_app_text
from engine.definitions.model import content_hash, to_data
from tests.definitions.conftest import one_file_app

VALID = """
form: ticket
fields:
  subject: {type: text, index: true}
  amount: money
  due: {type: date, index: true}
  total: {type: formula, expr: "amount * 2", result: money, index: true}
  priority: {type: select, options: [low, high]}
list:
  sort: [-amount]
  filters: [priority, status, amount, priority]
"""


def test_index_and_list_filters_build_the_model():
    form = load_app_text(one_file_app(VALID)).form("ticket")
    assert [f.key for f in form.fields if f.index] == ["subject", "due", "total"]
    assert form.list_filters == ("priority", "status", "amount")  # repeated once
    assert form.list_sort == ("-amount",)
    data = to_data(form)
    assert data["list_filters"] == ["priority", "status", "amount"]
    assert data["fields"][0]["index"] is True
    assert "index" not in data["fields"][1]  # false is left out of the stored data


def test_a_form_without_them_keeps_its_content_hash():
    # "index: false" written out changes nothing: forms published before the attribute
    # existed must not look changed (and be published again)
    plain = one_file_app("form: ticket\nfields:\n  subject: text\n")
    explicit = one_file_app("form: ticket\nfields:\n  subject: {type: text, index: false}\n")
    one, two = (load_app_text(text).form("ticket") for text in (plain, explicit))
    assert content_hash(one) == content_hash(two)
    assert "index" not in to_data(one)["fields"][0]
    assert "list_filters" not in to_data(one)


def test_what_cannot_be_indexed_is_a_located_error(problems):
    found = problems(
        """
        form: ticket
        fields:
          notes: {type: textarea, index: true}
          where: {type: address, index: true}
          tags: {type: multiselect, options: [a, b], index: true}
          scan: {type: attachment, index: true}
          lines:
            type: subtable
            index: true
            fields:
              qty: {type: number, index: true}
          ok: {type: number, index: true}
        """
    )
    assert found == [
        "app.yaml:7:34 fields.notes.index: 'notes' (textarea) cannot be indexed: long text "
        "does not fit an index entry (use a text field, or let the list's search find it)",
        "app.yaml:8:33 fields.where.index: 'where' (address) cannot be indexed: it is stored "
        "in several columns (lists cannot filter or sort by it)",
        "app.yaml:9:53 fields.tags.index: 'tags' (multiselect) cannot be indexed: its value "
        "is a list, which has no order (lists cannot sort by it)",
        "app.yaml:10:35 fields.scan.index: 'scan' (attachment) cannot be indexed: its value "
        "is a list, which has no order (lists cannot sort by it)",
        "app.yaml:13:12 fields.lines.index: 'lines' (subtable) cannot be indexed: it has no "
        "column of its own (index the columns a list filters by instead)",
        "app.yaml:15:34 fields.lines.fields.qty.index: index is not supported on sub-table "
        "columns (lists filter and sort by the form's own fields)",
    ]


def test_index_must_be_a_boolean(problems):
    found = problems("form: ticket\nfields:\n  subject: {type: text, index: yes please}\n")
    assert found == ["app.yaml:7:32 fields.subject.index: expected true or false"]


def test_unknown_and_unindexable_list_filters_are_located(problems):
    found = problems(
        """
        form: ticket
        fields:
          subject: text
          notes: textarea
          tags: {type: multiselect, options: [a, b]}
          lines:
            type: subtable
            fields:
              qty: number
        list:
          filters: [subject, created_at, subjct, notes, tags, lines, lines.qty]
        """
    )
    assert found == [
        "app.yaml:15:34 list.filters[2]: unknown field 'subjct' (did you mean 'subject'?)",
        "app.yaml:15:42 list.filters[3]: list filter 'notes' cannot be indexed: long text does "
        "not fit an index entry (use a text field, or let the list's search find it)",
        "app.yaml:15:49 list.filters[4]: list filter 'tags' cannot be indexed: its value is a "
        "list, which has no order (lists cannot sort by it)",
        "app.yaml:15:55 list.filters[5]: list filter 'lines' cannot be indexed: it has no "
        "column of its own (index the columns a list filters by instead)",
        "app.yaml:15:62 list.filters[6]: unknown field 'lines.qty' (did you mean 'lines'?)",
    ]
