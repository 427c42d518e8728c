"""From the checked tree to a Python function, for speed.

The generated code is built only from fixed templates: every value that came from the
formula (numbers, texts, field keys) is placed in the function's globals as a constant
and referred to by an index name, so no formula text ever becomes Python source.
Operators and functions are calls to the helpers in :mod:`operators` and the function
registry, which carry the language's semantics (blanks, Decimal, limits).

Each node starts on its own line of the generated source, under a comment that holds
the node's column. When a helper raises, the traceback's line in the generated frame
names the node, so a runtime error gets its column without any per-call bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.expressions.context import SHANGHAI
from engine.expressions.functions import FUNCTIONS
from engine.expressions.functions.aggregates import check_deadline
from engine.expressions.operators import BINARY, COMPARE, UNARY
from engine.expressions.values import load

_MARK = "#@"


def read_column(rows: Any, key: str, zone: Any, deadline: float) -> list[Any]:
    """The values of one sub-table column (blank rows list -> no values)."""
    if not isinstance(rows, list | tuple):
        return []
    values = []
    for index, row in enumerate(rows):
        if index % 256 == 255:
            check_deadline(deadline)
        values.append(load(row.get(key) if hasattr(row, "get") else None, zone))
    return values


@dataclass
class GeneratedFormula:
    """A compiled formula function and what evaluation needs to run and locate it."""

    function: Callable[[Any, Any, float], Any]
    line_columns: dict[int, int]
    needs_context: bool
    needs_deadline: bool
    code_text: str


@dataclass
class _Emitter:
    constants: dict[str, Any] = field(default_factory=dict)
    locals_by_name: dict[str, str] = field(default_factory=dict)
    first_use: dict[str, int] = field(default_factory=dict)
    temps: int = 0
    needs_context: bool = False
    needs_deadline: bool = False

    def constant(self, value: Any) -> str:
        name = f"_c{len(self.constants)}"
        self.constants[name] = value
        return name

    def local(self, field_name: str, column: int) -> str:
        if field_name not in self.locals_by_name:
            self.locals_by_name[field_name] = f"n{len(self.locals_by_name)}"
            self.first_use[field_name] = column
        return self.locals_by_name[field_name]

    def emit(self, node: dict[str, Any]) -> str:
        return f"\n{_MARK}{node['at']}\n" + _EMITTERS[node["op"]](self, node)

    def helper(self, value: Callable[..., Any]) -> str:
        return self.constant(value)

    # -- node kinds ------------------------------------------------------------------
    def literal(self, node: dict[str, Any]) -> str:
        return repr(node["value"])  # only True, False or None reach here

    def number(self, node: dict[str, Any]) -> str:
        return self.constant(Decimal(node["value"]))

    def text(self, node: dict[str, Any]) -> str:
        return self.constant(node["value"])

    def name(self, node: dict[str, Any]) -> str:
        return self.local(node["name"], node["at"])

    def column(self, node: dict[str, Any]) -> str:
        self.needs_deadline = True
        rows = self.local(node["subtable"], node["at"])
        key = self.constant(node["column"])
        return f"{self.helper(read_column)}({rows}, {key}, tz, deadline)"

    def list_(self, node: dict[str, Any]) -> str:
        return "[" + ", ".join(self.emit(item) for item in node["items"]) + "]"

    def unary(self, node: dict[str, Any]) -> str:
        operand = self.emit(node["operand"])
        if node["operator"] == "not":
            return f"(not {operand})"
        return f"{self.helper(UNARY[node['operator']])}({operand})"

    def binary(self, node: dict[str, Any]) -> str:
        op = self.helper(BINARY[node["operator"]])
        return f"{op}({self.emit(node['left'])}, {self.emit(node['right'])})"

    def boolean(self, node: dict[str, Any]) -> str:
        joined = f" {node['op']} ".join(f"({self.emit(arg)})" for arg in node["args"])
        return f"(True if {joined} else False)"

    def compare(self, node: dict[str, Any]) -> str:
        operands, operators = node["operands"], node["operators"]
        left = self.emit(operands[0])
        parts = []
        for index, symbol in enumerate(operators):
            right = self.emit(operands[index + 1])
            if index + 1 < len(operators):
                # a chained middle operand is evaluated once, as in Python
                self.temps += 1
                right = f"(_t{self.temps} := {right})"
                parts.append(f"{self.helper(COMPARE[symbol])}({left}, {right})")
                left = f"_t{self.temps}"
            else:
                parts.append(f"{self.helper(COMPARE[symbol])}({left}, {right})")
        return "(" + " and ".join(parts) + ")"

    def conditional(self, node: dict[str, Any]) -> str:
        test, then = self.emit(node["test"]), self.emit(node["then"])
        return f"({then} if {test} else {self.emit(node['else'])})"

    def call(self, node: dict[str, Any]) -> str:
        name, args = node["function"], node["args"]
        inline = _INLINE.get(name)
        if inline is not None:
            return inline(self, node)
        spec = FUNCTIONS[name]
        parts = [self.emit(arg) for arg in args]
        if spec.needs == "context":
            self.needs_context = True
            parts.insert(0, "ctx")
        elif spec.needs == "deadline":
            self.needs_deadline = True
            parts.insert(0, "deadline")
        return f"{self.helper(spec.impl)}({', '.join(parts)})"

    def lookup(self, node: dict[str, Any]) -> str:
        self.needs_context = True
        impl = self.helper(FUNCTIONS["LOOKUP"].impl)
        relation, target = self.constant(node["relation"]), self.constant(node["target"])
        record = self.local(node["relation"], node["at"])
        return f"{impl}(ctx, {relation}, {record}, {target})"

    def record(self, node: dict[str, Any]) -> str:
        # ``record.x`` of an aggregate's where: the value named "record.x" (the store
        # binds it; evaluated in Python only by tools)
        return self.local(f"record.{node['field']}", node["at"])

    def inline_aggregate(self, node: dict[str, Any]) -> str:
        # AGGREGATE("name") reads this record's values (its where's record.x)
        self.needs_context = True
        impl = self.helper(FUNCTIONS["AGGREGATE"].impl)
        return f"{impl}(ctx, {self.emit(node['args'][0])}, values)"

    def inline_match(self, node: dict[str, Any]) -> str:
        # MATCH needs the names its lookup reads: the record (or row) scope itself
        self.needs_context = True
        impl = self.helper(FUNCTIONS["MATCH"].impl)
        args = ", ".join(self.emit(arg) for arg in node["args"])
        return f"{impl}(ctx, values, {args})"

    def inline_if(self, node: dict[str, Any]) -> str:
        args = node["args"]
        test, then = self.emit(args[0]), self.emit(args[1])
        other = self.emit(args[2]) if len(args) == 3 else "None"
        return f"({then} if {test} else {other})"

    def inline_boolean(self, node: dict[str, Any]) -> str:
        return self.boolean({"op": node["function"].lower(), "args": node["args"]})


_EMITTERS: dict[str, Callable[[_Emitter, dict[str, Any]], str]] = {
    "literal": _Emitter.literal,
    "number": _Emitter.number,
    "text": _Emitter.text,
    "name": _Emitter.name,
    "column": _Emitter.column,
    "list": _Emitter.list_,
    "unary": _Emitter.unary,
    "binary": _Emitter.binary,
    "and": _Emitter.boolean,
    "or": _Emitter.boolean,
    "compare": _Emitter.compare,
    "if": _Emitter.conditional,
    "call": _Emitter.call,
    "lookup": _Emitter.lookup,
    "record": _Emitter.record,
}
_INLINE: dict[str, Callable[[_Emitter, dict[str, Any]], str]] = {
    "IF": _Emitter.inline_if,
    "AND": _Emitter.inline_boolean,
    "OR": _Emitter.inline_boolean,
    "MATCH": _Emitter.inline_match,
    "AGGREGATE": _Emitter.inline_aggregate,
}


def generate(tree: dict[str, Any]) -> GeneratedFormula:
    """Compile a checked tree into a function ``(values, ctx, deadline) -> value``."""
    emitter = _Emitter()
    body = emitter.emit(tree)
    lines = ["def _formula(values, ctx, deadline):"]
    prelude_columns: dict[int, int] = {}
    if emitter.locals_by_name:
        lines.append("    _get = values.get")
        lines.append("    tz = ctx.timezone if ctx is not None else _zone")
    for field_name, local in emitter.locals_by_name.items():
        key = emitter.constant(field_name)
        lines.append(f"    {local} = _get({key})")
        prelude_columns[len(lines)] = emitter.first_use[field_name]
        lines.append(f"    if {local} is not None and {local}.__class__ is not _Decimal:")
        lines.append(f"        {local} = _load({local}, tz)")
        prelude_columns[len(lines)] = emitter.first_use[field_name]
    lines.append("    return (" + body + "\n    )")
    text = "\n".join(lines)
    line_columns = dict(prelude_columns)
    pending = None
    for number, line in enumerate(text.split("\n"), start=1):
        if line.startswith(_MARK):
            pending = int(line[len(_MARK) :])
        elif pending is not None:
            line_columns[number] = pending
            pending = None
    namespace: dict[str, Any] = {"__builtins__": {}, "_Decimal": Decimal, "_load": load}
    namespace["_zone"] = SHANGHAI
    namespace.update(emitter.constants)
    exec(compile(text, "<formula>", "exec"), namespace)  # noqa: S102 - text built from templates
    return GeneratedFormula(
        function=namespace["_formula"],
        line_columns=line_columns,
        needs_context=emitter.needs_context,
        needs_deadline=emitter.needs_deadline,
        code_text=text,
    )
