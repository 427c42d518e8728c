"""Message templates: Jinja2 in its immutable sandbox, checked when a rule loads.

A template sees three names (:func:`template_values`): ``record`` (the record's values,
by field key), ``link`` (the record's URL) and ``actor`` (who caused the event: ``id``,
``name``...). Text templates (subjects, plain text, markdown) render without escaping;
``html=True`` templates (the mail's HTML part) escape every value.

Decisions:

* **A missing variable renders as empty text**, and so does an attribute of one
  (``{{ record.no_such_field }}``, ``{{ nothing.at.all }}``): a record's optional field
  is often empty, and a notification must not fail for it. A loader that wants to
  catch typos compares :meth:`MessageTemplate.variables` with the form's fields.
* **Refused before it runs** (:class:`~.errors.TemplateError` at construction, naming
  the template and the line): syntax errors; any attribute or item whose name starts
  with ``_`` (``''.__class__``, ``x['__globals__']``, ``attr('__dict__')``); the
  ``format`` / ``format_map`` methods and the ``format`` filter (format widths build huge
  strings); macros, call blocks and recursive loops (unbounded recursion).
* **Stopped while it runs** (TemplateError naming the line):

  - the sandbox's own refusals: calls to unsafe callables and to methods that change
    a value (``record.lines.append(...)``); an unsafe attribute reached dynamically
    renders as empty;
  - a **work budget** of :data:`MAX_WORK` units per render: every loop iteration and
    every ``range`` item costs one, every filter and method call costs the length of
    its input and of its result, ``+``, ``*`` and ``~`` the length of what they build;
  - any single value built by ``+``, ``*``, ``~``, ``join`` or ``replace`` longer than
    :data:`MAX_OUTPUT`, checked before it is built; a whole-number argument of a filter
    or method over :data:`MAX_OUTPUT` (``center(10**9)``, ``batch(10**9)``); ``**`` with
    an exponent over :data:`MAX_EXPONENT`; ``%`` on text; ``range`` longer than
    :data:`MAX_OUTPUT`;
  - output longer than :data:`MAX_OUTPUT` characters.

  ``lipsum`` is not available.
"""

from __future__ import annotations

import contextvars
import functools
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateRuntimeError, UndefinedError
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from engine.service.delivery.errors import TemplateError, both
from engine.service.delivery.settings import invalid

#: the longest rendered text, the longest value one operation may build, and the
#: largest whole-number argument of a filter or method
MAX_OUTPUT = 100_000
#: the work one render may do (loop iterations, range items, lengths handled by filters,
#: methods and operators): a digest over hundreds of rows uses a few thousand
MAX_WORK = 2_000_000
#: the largest exponent of ``**``
MAX_EXPONENT = 100
#: the longest template source
MAX_SOURCE = 100_000

_REFUSED_METHODS = {"format", "format_map"}
_budget: contextvars.ContextVar[list[int]] = contextvars.ContextVar("template_work_budget")


class _Refused(SecurityError):
    """A runtime refusal of ours (reported like the sandbox's own)."""


def _spend(units: int) -> None:
    budget = _budget.get(None)
    if budget is None:  # rendered outside MessageTemplate.render: a fresh budget
        budget = [MAX_WORK]
        _budget.set(budget)
    budget[0] -= units
    if budget[0] < 0:
        raise _Refused(
            both(
                f"模板在一次渲染中的工作量超过 {MAX_WORK}（循环、range、过滤器）",
                f"the template does more than {MAX_WORK} units of work in one render "
                "(loop iterations, range items, filter input)",
            )
        )


def _size(value: Any) -> int:
    try:
        return len(value) if isinstance(value, str | bytes | list | tuple | dict | set) else 0
    except TypeError:
        return 0


def _too_long(what: str, size: int) -> None:
    if size > MAX_OUTPUT:
        raise _Refused(
            both(
                f"{what} 生成的值超过 {MAX_OUTPUT}",
                f"{what} would build a value longer than {MAX_OUTPUT}",
            )
        )
    _spend(size)


def _check_numbers(name: str, args: Iterable[Any]) -> None:
    for value in args:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_OUTPUT:
            raise _Refused(
                both(
                    f"{name} 的参数 {value} 超过 {MAX_OUTPUT}",
                    f"{name}: the argument {value} is over {MAX_OUTPUT}",
                )
            )


def _limited_range(*args: int) -> range:
    items = range(*args)
    _too_long("range", len(items))
    return items


def _budgeted_iter(iterable: Any) -> Iterator[Any]:
    for item in iterable:
        _spend(1)
        yield item


def _joined_size(parts: Iterable[Any]) -> int:
    return sum(len(part) if isinstance(part, str) else len(str(part)) for part in parts)


class _Environment(ImmutableSandboxedEnvironment):
    """The immutable sandbox with a work budget and size limits (see the module doc)."""

    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                _too_long("+", _size(left) + _size(right))
            return operator.add(left, right)
        if operator_name == "*":
            count = right if isinstance(right, int) else left if isinstance(left, int) else 1
            other = left if isinstance(right, int) else right
            _too_long("*", _size(other) * max(count, 0))
            return operator.mul(left, right)
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise _Refused(
                    both(f"** 的指数超过 {MAX_EXPONENT}", f"** exponent is over {MAX_EXPONENT}")
                )
            return operator.pow(left, right)
        if isinstance(left, str):
            raise _Refused(both("文本不能用 %：请用 {{ }}", "% on text is refused: use {{ }}"))
        return operator.mod(left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        if __obj is _budgeted_iter or __obj is _text_concat or __obj is _markup_concat:
            return __obj(*args)
        name = getattr(__obj, "__name__", "call")
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and name in _REFUSED_METHODS:
            raise _Refused(
                both(
                    f"不允许调用 {name}：请用 {{{{ }}}}",
                    f"calling {name} is refused: use {{{{ }}}}",
                )
            )
        _check_numbers(name, (*args, *kwargs.values()))
        if isinstance(owner, str) and name == "join" and args:
            _too_long("join", _joined_size(args[0]) + len(owner) * max(_size(args[0]) - 1, 0))
        if isinstance(owner, str) and name == "replace" and len(args) >= 2:
            _too_long("replace", _replaced_size(owner, args[0], args[1]))
        _spend(_size(owner))
        result = super().call(__context, __obj, *args, **kwargs)
        _spend(_size(result))
        return result


def _replaced_size(text: Any, old: Any, new: Any) -> int:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return _size(text)
    count = text.count(old) if old else len(text) + 1
    return len(text) + count * (len(new) - len(old))


def _text_concat(parts: list[Any]) -> str:
    _too_long("~", _joined_size(parts))
    return str_join(parts)


def _markup_concat(parts: list[Any]) -> str:
    _too_long("~", _joined_size(parts))
    return markup_join(parts)  # type: ignore[no-any-return]


def _budgeted_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    passes = getattr(original, "jinja_pass_arg", None)

    @functools.wraps(original)
    def run(*args: Any, **kwargs: Any) -> Any:
        own = args[1:] if passes is not None else args  # after context/environment
        value, rest = (own[0], own[1:]) if own else (None, ())
        _check_numbers(name, (*rest, *kwargs.values()))
        _spend(_size(value))
        if name == "join" and isinstance(value, list | tuple):
            separator = rest[0] if rest and isinstance(rest[0], str) else ""
            _too_long("join", _joined_size(value) + len(separator) * max(len(value) - 1, 0))
        if name == "replace" and len(rest) >= 2:
            _too_long("replace", _replaced_size(value, rest[0], rest[1]))
        result = original(*args, **kwargs)
        _spend(_size(result))
        return result

    return run


def _make_environment(html: bool) -> _Environment:
    env = _Environment(autoescape=html, undefined=ChainableUndefined, keep_trailing_newline=True)
    env.globals["range"] = _limited_range
    env.globals.pop("lipsum", None)
    env.filters.pop("format", None)
    for name, original in list(env.filters.items()):
        env.filters[name] = _budgeted_filter(name, original)
    env.budgeted_iter = _budgeted_iter  # type: ignore[attr-defined]
    env.checked_concat = _markup_concat if html else _text_concat  # type: ignore[attr-defined]
    return env


_TEXT_ENV = _make_environment(html=False)
_HTML_ENV = _make_environment(html=True)


def _static_refusal(tree: nodes.Template) -> tuple[str, int] | None:
    """The first construct refused before running, with its line."""
    for node in tree.find_all(
        (nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Macro, nodes.CallBlock, nodes.For)
    ):
        if isinstance(node, nodes.Macro | nodes.CallBlock):
            return both(
                "消息模板中不允许 macro 和 call 块",
                "macros and call blocks are refused in message templates",
            ), node.lineno
        if isinstance(node, nodes.For):
            if node.recursive:
                return both("不允许递归循环", "recursive loops are refused"), node.lineno
            continue
        name = None
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
        ):
            name = node.arg.value
        if name is not None and name.startswith("_"):
            return both(
                f"不允许读取以 _ 开头的属性 {name}",
                f"reading the attribute {name} (starting with _) is refused",
            ), node.lineno
        if name in _REFUSED_METHODS:
            return both(
                f"不允许调用 {name}：请用 {{{{ }}}}", f"calling {name} is refused: use {{{{ }}}}"
            ), node.lineno
        if (
            isinstance(node, nodes.Filter)
            and node.name == "attr"
            and node.args
            and isinstance(node.args[0], nodes.Const)
            and str(node.args[0].value).startswith("_")
        ):
            return both(
                "不允许读取以 _ 开头的属性", "reading an attribute starting with _ is refused"
            ), node.lineno
        if isinstance(node, nodes.Filter) and node.name == "format":
            return both(
                "不允许 format 过滤器：请用 {{ }}", "the format filter is refused: use {{ }}"
            ), node.lineno
    return None


class _Instrument(NodeTransformer):
    """Route every loop's iterable through the work budget and every ``~`` through the
    size check (run after the static checks)."""

    def visit_For(self, node: nodes.For) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        node.iter = _call_env("budgeted_iter", node.iter, node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        return _call_env("checked_concat", nodes.List(node.nodes, lineno=node.lineno), node.lineno)


def _call_env(attribute: str, argument: nodes.Expr, lineno: int) -> nodes.Call:
    return nodes.Call(
        nodes.EnvironmentAttribute(attribute, lineno=lineno),
        [argument],
        [],
        None,
        None,
        lineno=lineno,
    )


class MessageTemplate:
    """One template, compiled and checked once (TemplateError when refused).

    ``name`` says where it comes from (``rules/order.yaml:12`` or a rule key) and is
    repeated in every error; ``html`` turns autoescaping on (for a mail's HTML part).
    """

    def __init__(self, source: str, *, name: str, html: bool = False):
        if not isinstance(name, str) or not name:
            raise invalid("name", name, "text naming the template (file:line or rule key)")
        if not isinstance(source, str):
            raise invalid("source", source, "template text")
        if not isinstance(html, bool):
            raise invalid("html", html, "true or false")
        if len(source) > MAX_SOURCE:
            raise TemplateError(
                both(
                    f"模板超过 {MAX_SOURCE} 个字符",
                    f"the template is longer than {MAX_SOURCE} characters",
                ),
                template=name,
            )
        self.name = name
        self.source = source
        self.html = html
        env = _HTML_ENV if html else _TEXT_ENV
        try:
            tree = env.parse(source, name=name)
        except TemplateSyntaxError as exc:
            raise TemplateError(
                both(f"模板语法错误：{exc.message}", f"template syntax error: {exc.message}"),
                template=name,
                line=exc.lineno,
            ) from None
        refusal = _static_refusal(tree)
        if refusal is not None:
            raise TemplateError(refusal[0], template=name, line=refusal[1])
        self._variables = frozenset(meta.find_undeclared_variables(tree))
        _Instrument().visit(tree)
        self._template = env.from_string(tree)
        self._template.name = name

    def variables(self) -> frozenset[str]:
        """The top-level names the template reads (``record``, ``link``, ``actor``...)."""
        return self._variables

    def render(self, values: Mapping[str, Any]) -> str:
        """The text for ``values`` (see :func:`template_values`); TemplateError naming the
        template line when the sandbox or a limit stops it, or it fails."""
        if not isinstance(values, Mapping):
            raise invalid("values", values, "a mapping of template values")
        token = _budget.set([MAX_WORK])
        try:
            return "".join(self._chunks(values))
        except TemplateError:
            raise
        except (
            SecurityError,
            UndefinedError,
            TemplateRuntimeError,
            ArithmeticError,
            TypeError,
            ValueError,
            LookupError,
            AttributeError,
        ) as exc:
            raise TemplateError(
                _describe(exc), template=self.name, line=_line_of(exc, self.name)
            ) from None
        finally:
            _budget.reset(token)

    def _chunks(self, values: Mapping[str, Any]) -> Iterator[str]:
        size = 0
        for chunk in self._template.generate(dict(values)):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateError(
                    both(
                        f"渲染结果超过 {MAX_OUTPUT} 个字符",
                        f"the rendered text is longer than {MAX_OUTPUT} characters",
                    ),
                    template=self.name,
                )
            yield chunk

    def __repr__(self) -> str:
        return f"MessageTemplate({self.name!r}, html={self.html})"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, _Refused):
        return str(exc)
    if isinstance(exc, SecurityError):
        return both(f"沙箱拒绝：{exc}", f"refused by the sandbox: {exc}")
    return both(
        f"渲染失败：{type(exc).__name__}: {exc}", f"rendering failed: {type(exc).__name__}: {exc}"
    )


def _line_of(exc: BaseException, name: str) -> int | None:
    """The template line of the innermost traceback frame that is the template's."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        # Jinja rewrites the traceback: a template frame carries the template's line
        if code.co_filename in (name, "<template>"):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def template_values(
    *,
    record: Mapping[str, Any],
    link: str = "",
    actor: Mapping[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The values a template sees: ``record`` (field key -> value; for an update the
    old values can be passed as ``old``), ``link`` and ``actor`` (``id``, ``name``...)."""
    if not isinstance(record, Mapping):
        raise invalid("record", record, "a mapping of field values")
    if not isinstance(link, str):
        raise invalid("link", link, "text (the record's URL)")
    if actor is not None and not isinstance(actor, Mapping):
        raise invalid("actor", actor, "a mapping (id, name...)")
    return {"record": dict(record), "link": link, "actor": dict(actor or {}), **extra}
