"""Sandboxed message templates: values, escaping, missing names, hostile templates."""

from __future__ import annotations

import pytest

from engine.errors import InvalidArgumentError
from engine.service.delivery import MessageTemplate, TemplateError, template_values

VALUES = template_values(
    record={"order_no": "SO-0001", "customer": "华东<经销商>&", "lines": [{"qty": 2}, {"qty": 3}]},
    link="http://127.0.0.1:5000/apps/channel/orders/7",
    actor={"id": "zhangsan", "name": "张三"},
)


def test_a_text_template_renders_values_link_and_actor_unescaped() -> None:
    template = MessageTemplate(
        "{{ actor.name }} 审批了 {{ record.order_no }}（{{ record.customer }}），"
        "共 {{ record.lines | sum(attribute='qty') }} 件：{{ link }}",
        name="rules/order.yaml:12",
    )
    assert template.render(VALUES) == (
        "张三 审批了 SO-0001（华东<经销商>&），共 5 件：http://127.0.0.1:5000/apps/channel/orders/7"
    )
    assert template.variables() == {"actor", "record", "link"}


def test_an_html_template_escapes_values() -> None:
    template = MessageTemplate(
        '<p><a href="{{ link }}">{{ record.customer }}</a></p>', name="h", html=True
    )
    assert template.render(VALUES) == (
        '<p><a href="http://127.0.0.1:5000/apps/channel/orders/7">华东&lt;经销商&gt;&amp;</a></p>'
    )


def test_a_digest_over_hundreds_of_rows_fits_the_budget() -> None:
    rows = [{"no": f"PR-{n:04d}", "title": "办公用品采购" * 5, "qty": n} for n in range(1, 501)]
    template = MessageTemplate(
        "{% for r in record.rows %}{{ loop.index }}. {{ r.no ~ ' ' ~ r.title | truncate(20) }}"
        "（{{ r.qty }}）\n{% endfor %}合计 {{ record.rows | sum(attribute='qty') }}",
        name="digest",
    )
    text = template.render({"record": {"rows": rows}})
    assert text.count("\n") == 500 and text.endswith("合计 125250")
    assert text.startswith("1. PR-0001 办公用品采购办公用品采购办公用品采...（1）\n")


def test_a_missing_variable_renders_empty() -> None:
    template = MessageTemplate(
        "[{{ record.no_such }}][{{ nothing.at.all }}][{{ record.order_no }}]", name="t"
    )
    assert template.render(VALUES) == "[][][SO-0001]"


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("{{ ''.__class__.__mro__ }}", 1),
        ("ok\n{{ record['__class__'] }}", 2),
        ("{{ record | attr('__dict__') }}", 1),
        ("a\nb\n{{ '{0.__class__}'.format(record) }}", 3),
        ("{{ '%s' | format(1) }}", 1),
        ("{% for x in %}", 1),
        ("{% macro f(n) %}{{ f(n - 1) }}{% endmacro %}{{ f(9) }}", 1),
        ("{% for x in record.lines recursive %}{{ loop(x) }}{% endfor %}", 1),
    ],
)
def test_hostile_or_broken_templates_are_refused_before_running(source, line) -> None:
    with pytest.raises(TemplateError) as caught:
        MessageTemplate(source, name="rules/order.yaml:20")
    assert caught.value.template == "rules/order.yaml:20"
    assert caught.value.line == line
    assert str(caught.value).startswith(f"rules/order.yaml:20 (template line {line}): ")


@pytest.mark.parametrize(
    ("source", "line", "words"),
    [
        ("x\n{{ 'a' * 1000000 }}", 2, "* would build a value longer than 100000"),
        ("{{ [0] * 200000 }}", 1, "* would build a value longer than 100000"),
        ("{{ 10 ** 1000 }}", 1, "exponent is over 100"),
        (
            "\n\n{% for i in range(10**6) %}{% endfor %}",
            3,
            "range: the argument 1000000 is over 100000",
        ),
        (
            "{% for a in 'x' * 1000 %}\n{% for b in 'x' * 1000 %}{% endfor %}{% endfor %}",
            2,
            "units of work",
        ),
        (
            "{% for i in range(50000) %}{% set x = record.order_no * 100 %}{% endfor %}",
            1,
            "units of work",
        ),
        (
            "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
            1,
            "~ would build",
        ),
        (
            "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
            1,
            "+ would build",
        ),
        ("{% set a = 'x' * 100000 %}{{ ([a] * 100000) | join }}", 1, "join would build"),
        ("{{ ''.join(['x' * 100000] * 1000) }}", 1, "join would build"),
        ("{{ ('x' * 1000).replace('', 'y' * 1000) }}", 1, "replace would build"),
        (
            "{{ [1] | batch(10**9, 'x') | list }}",
            1,
            "batch: the argument 1000000000 is over 100000",
        ),
        ("{{ 'x' | center(10000000) }}", 1, "center: the argument 10000000"),
        ("{{ 'x'.ljust(10000000) }}", 1, "ljust: the argument 10000000"),
        ("{{ '%0999999d' % 1 }}", 1, "% on text"),
        (
            "{% for i in range(20) %}{{ 'x' * 9000 }}{% endfor %}",
            None,
            "longer than 100000 characters",
        ),
        ("{{ lipsum(5000) }}", 1, "'lipsum' is undefined"),
    ],
)
def test_hostile_work_is_stopped_with_a_clear_error(source, line, words) -> None:
    try:
        template = MessageTemplate(source, name="tpl")
        template.render(VALUES)
    except TemplateError as error:
        assert error.line == line
        assert words in str(error)
    else:
        pytest.fail("not refused")


def test_a_dunder_reached_dynamically_is_refused_by_the_sandbox() -> None:
    template = MessageTemplate("{% set n = '_' ~ '_class__' %}{{ record[n] }}", name="tpl")
    # the sandbox turns the unsafe item into an undefined value: nothing leaks
    assert template.render({"record": "text"}) == ""
    change = MessageTemplate("a\n{{ record.lines.append(1) }}", name="tpl")
    values = {"record": {"lines": [1]}}
    with pytest.raises(TemplateError) as caught:
        change.render(values)
    assert str(caught.value).startswith("tpl (template line 2): ")
    assert "refused by the sandbox" in str(caught.value)
    assert values == {"record": {"lines": [1]}}


def test_render_errors_name_the_template_and_line() -> None:
    template = MessageTemplate("a\nb\n{{ record.n / 0 }}", name="rules/stock.yaml:8")
    with pytest.raises(TemplateError) as caught:
        template.render({"record": {"n": 1}})
    assert str(caught.value).startswith("rules/stock.yaml:8 (template line 3): ")
    assert "ZeroDivisionError" in str(caught.value)


def test_arguments_are_checked() -> None:
    with pytest.raises(InvalidArgumentError):
        MessageTemplate(b"bytes", name="t")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        MessageTemplate("x", name="")
    with pytest.raises(InvalidArgumentError):
        MessageTemplate("x", name="t").render(["not", "a", "mapping"])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        template_values(record="not a mapping")  # type: ignore[arg-type]
