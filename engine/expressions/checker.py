"""The whitelist: a Python syntax tree becomes the language's checked tree, or an error.

This is the security boundary. Only the node kinds registered in ``_HANDLERS`` are
accepted; every other construct (attribute access outside aggregates, subscripts,
lambdas, comprehensions, f-strings, walrus, starred or keyword arguments...) is
rejected with its column. The checked tree is plain JSON-able data
(``{"op": ..., "at": column, ...}``): the server compiles it and a browser can
interpret the same tree.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.expressions.functions import FUNCTIONS
from engine.expressions.grammar import BINARY, COMPARE, LOWER_CASE_CONSTANTS, REJECTED, UNARY
from engine.expressions.limits import MAX_DEPTH, MAX_LIST_ITEMS, MAX_LITERAL_DIGITS
from engine.expressions.parser import SourceMap, fail
from engine.expressions.scope import ExpressionScope

Node = dict[str, Any]


@dataclass
class CheckResult:
    """The checked tree plus what it refers to."""

    tree: Node
    names: set[str] = field(default_factory=set)
    subtable_refs: set[tuple[str, str]] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)


class Checker:
    """Walks a Python expression tree, accepting only whitelisted constructs."""

    def __init__(self, source_map: SourceMap, scope: ExpressionScope | None):
        self.map = source_map
        self.scope = scope
        self.result = CheckResult(tree={})

    def check(self, tree: ast.expr) -> CheckResult:
        self.result.tree = self.visit(tree, 0)
        return self.result

    # -- dispatch --------------------------------------------------------------------
    def visit(self, node: ast.expr, depth: int, aggregate_arg: bool = False) -> Node:
        if depth > MAX_DEPTH:
            raise self.error(
                node,
                f"the formula is nested more than {MAX_DEPTH} levels deep",
                hint="split it into several computed fields",
            )
        if isinstance(node, ast.Attribute):
            return self.attribute(node, aggregate_arg)
        handler = _HANDLERS.get(type(node))
        if handler is None:
            message, hint = REJECTED.get(
                type(node), (f"{type(node).__name__} is not allowed", None)
            )
            raise self.error(node, message, hint=hint)
        return handler(self, node, depth + 1)

    def error(self, node: ast.AST, message: str, hint: str | None = None) -> Exception:
        return fail(message, column=self.map.node_column(node), hint=hint)

    def at(self, node: ast.AST) -> int:
        return self.map.node_column(node)

    def between(self, left: ast.AST, right: ast.AST) -> int:
        """Column of the operator between two operands (errors point at the ``/``)."""
        start = self.map.column(left.end_lineno or 1, left.end_col_offset or 0)
        end = self.at(right)
        text = self.map.source
        for index in range(start - 1, min(end - 1, len(text))):
            if text[index] not in " \t\r\n()":
                return index + 1
        return start

    # -- leaves ----------------------------------------------------------------------
    def constant(self, node: ast.Constant, depth: int) -> Node:
        value = node.value
        if value is None or isinstance(value, bool):
            return {"op": "literal", "value": value, "at": self.at(node)}
        if isinstance(value, str):
            return {"op": "text", "value": value, "at": self.at(node)}
        if isinstance(value, int | float):
            return {"op": "number", "value": self.number_text(node), "at": self.at(node)}
        raise self.error(node, f"{type(value).__name__} literals are not allowed")

    def number_text(self, node: ast.Constant) -> str:
        if isinstance(node.value, int):
            number = Decimal(node.value) if len(str(node.value)) <= MAX_LITERAL_DIGITS else None
        else:
            segment = ast.get_source_segment(self.map.lines_text, node) or ""
            try:
                number = Decimal(segment.replace("_", ""))
            except InvalidOperation:
                number = None
        if (
            number is None
            or not number.is_finite()
            or len(number.as_tuple().digits) > MAX_LITERAL_DIGITS
            or abs(number.adjusted()) > MAX_LITERAL_DIGITS
        ):
            raise self.error(
                node,
                f"the number is too large or has too many digits (at most {MAX_LITERAL_DIGITS})",
            )
        return str(number)

    def name(self, node: ast.Name, depth: int) -> Node:
        if node.id in LOWER_CASE_CONSTANTS:
            return {"op": "literal", "value": LOWER_CASE_CONSTANTS[node.id], "at": self.at(node)}
        self.check_name(node, node.id)
        self.result.names.add(node.id)
        return {"op": "name", "name": node.id, "at": self.at(node)}

    def check_name(self, node: ast.AST, name: str) -> None:
        if name.startswith("__"):
            raise self.error(node, f"names starting with __ are not allowed: {name}")
        if self.scope is None or self.scope.knows(name):
            return
        if name.upper() in FUNCTIONS:
            hint = f"{name.upper()} is a function: call it as {name.upper()}(...)"
        else:
            hint = _did_you_mean(name, self.scope.top_level_names())
        raise self.error(node, f"unknown field '{name}'", hint=hint)

    def attribute(self, node: ast.Attribute, aggregate_arg: bool) -> Node:
        if node.attr.startswith("__") or not isinstance(node.value, ast.Name):
            raise self.error(
                node,
                "attribute access is not allowed",
                hint="only a sub-table column, as in SUM(lines.amount)",
            )
        table, column = node.value.id, node.attr
        if table == "record" and self.scope is not None and self.scope.record_fields is not None:
            return self.record_value(node, column)
        if not aggregate_arg:
            raise self.error(
                node,
                f"{table}.{column} is allowed only inside SUM, AVG, COUNT, MIN or MAX",
                hint=f"for example SUM({table}.{column})",
            )
        if self.scope is not None:
            if table not in self.scope.subtables:
                raise self.error(
                    node,
                    f"unknown sub-table '{table}'",
                    hint=_did_you_mean(table, frozenset(self.scope.subtables)),
                )
            if column not in self.scope.subtables[table]:
                raise self.error(
                    node,
                    f"sub-table '{table}' has no column '{column}'",
                    hint=_did_you_mean(column, self.scope.subtables[table]),
                )
        self.check_name(node.value, table)
        self.result.names.add(table)
        self.result.subtable_refs.add((table, column))
        return {"op": "column", "subtable": table, "column": column, "at": self.at(node)}

    def record_value(self, node: ast.Attribute, column: str) -> Node:
        """``record.x`` in an aggregate's ``where``: the declaring record's value of x."""
        known = self.scope.record_fields if self.scope is not None else None
        if known is not None and column not in known:
            raise self.error(
                node,
                f"this form has no field '{column}' for record.{column}",
                hint=_did_you_mean(column, known),
            )
        return {"op": "record", "field": column, "at": self.at(node)}

    def sequence(self, node: ast.List | ast.Tuple, depth: int) -> Node:
        if len(node.elts) > MAX_LIST_ITEMS:
            raise self.error(node, f"a list may have at most {MAX_LIST_ITEMS} items")
        items = [self.visit(item, depth) for item in node.elts]
        return {"op": "list", "items": items, "at": self.at(node)}

    # -- operators -------------------------------------------------------------------
    def unary(self, node: ast.UnaryOp, depth: int) -> Node:
        symbol = UNARY.get(type(node.op))
        if symbol is None:
            raise self.error(node, "the operator ~ is not allowed")
        return {
            "op": "unary",
            "operator": symbol,
            "operand": self.visit(node.operand, depth),
            "at": self.at(node),
        }

    def binary(self, node: ast.BinOp, depth: int) -> Node:
        symbol = BINARY.get(type(node.op))
        if symbol is None:
            raise self.error(
                node,
                f"the operator {type(node.op).__name__} is not allowed",
                hint="use + - * / // % ** and, or, not",
            )
        return {
            "op": "binary",
            "operator": symbol,
            "left": self.visit(node.left, depth),
            "right": self.visit(node.right, depth),
            "at": self.between(node.left, node.right),
        }

    def boolean(self, node: ast.BoolOp, depth: int) -> Node:
        op = "and" if isinstance(node.op, ast.And) else "or"
        return {"op": op, "args": [self.visit(v, depth) for v in node.values], "at": self.at(node)}

    def compare(self, node: ast.Compare, depth: int) -> Node:
        symbols = []
        for op, right in zip(node.ops, node.comparators, strict=True):
            symbol = COMPARE.get(type(op))
            if symbol is None:
                raise self.error(
                    node, "is / is not are not allowed", hint="write x == None or x != None"
                )
            if symbol in ("in", "not in") and not isinstance(
                right, ast.List | ast.Tuple | ast.Name
            ):
                raise self.error(
                    right,
                    f"'{symbol}' needs a list like [1, 2] or a field",
                    hint="or use IN(value, a, b)",
                )
            symbols.append(symbol)
        operands = [self.visit(node.left, depth)]
        operands += [self.visit(c, depth) for c in node.comparators]
        at = self.between(node.left, node.comparators[0])
        return {"op": "compare", "operators": symbols, "operands": operands, "at": at}

    def conditional(self, node: ast.IfExp, depth: int) -> Node:
        return {
            "op": "if",
            "test": self.visit(node.test, depth),
            "then": self.visit(node.body, depth),
            "else": self.visit(node.orelse, depth),
            "at": self.at(node),
        }

    # -- calls -----------------------------------------------------------------------
    def call(self, node: ast.Call, depth: int) -> Node:
        if not isinstance(node.func, ast.Name):
            raise self.error(
                node,
                "only library functions can be called, like ROUND(x, 2)",
                hint="methods such as x.upper() are not allowed: use UPPER(x)",
            )
        name = node.func.id
        spec = FUNCTIONS.get(name)
        if spec is None:
            hint = _did_you_mean(name.upper(), frozenset(FUNCTIONS))
            if name.upper() in FUNCTIONS:
                hint = f"function names are written in capitals: {name.upper()}"
            raise self.error(node, f"unknown function '{name}'", hint=hint)
        if node.keywords:
            raise self.error(
                node.keywords[0].value,
                f"{name} takes no keyword arguments",
                hint=f"pass the values in order: {spec.signature}",
            )
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.error(arg, "starred arguments are not allowed")
        count = len(node.args)
        if count < spec.min_args or (spec.max_args is not None and count > spec.max_args):
            raise self.error(
                node,
                f"{name} takes {spec.arity_text()} argument(s), got {count}",
                hint=spec.signature,
            )
        self.result.functions.add(name)
        if name == "LOOKUP":
            return self.lookup(node)
        if name == "MATCH":
            self.match(node)
        args = [self.visit(a, depth, aggregate_arg=spec.aggregate) for a in node.args]
        return {"op": "call", "function": name, "args": args, "at": self.at(node)}

    def lookup(self, node: ast.Call) -> Node:
        relation, target = node.args
        if not isinstance(relation, ast.Name):
            raise self.error(relation, "LOOKUP's first argument must be a relation field")
        if not (isinstance(target, ast.Constant) and isinstance(target.value, str)):
            raise self.error(
                target,
                "LOOKUP's second argument must be a field key in quotes",
                hint='for example LOOKUP(supplier, "name")',
            )
        self.check_name(relation, relation.id)
        known = self.scope.relation_targets.get(relation.id) if self.scope else None
        if known is not None and target.value not in known:
            raise self.error(
                target,
                f"the form related by '{relation.id}' has no field '{target.value}'",
                hint=_did_you_mean(target.value, known),
            )
        self.result.names.add(relation.id)
        return {
            "op": "lookup",
            "relation": relation.id,
            "target": target.value,
            "at": self.at(node),
        }

    def match(self, node: ast.Call) -> None:
        """MATCH("lookup"[, "field"]): a declared lookup of the form (docs/lookups.md).

        The arguments are text literals, so the lookup and its field are checked here;
        the names its match expressions read become this formula's names (the formula
        is computed after them, and is left blank when one of them has an error).
        """
        for arg in node.args:
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                raise self.error(
                    arg,
                    "MATCH takes the lookup's name and a field key, in quotes",
                    hint='for example MATCH("line_price") or MATCH("line_price", "price")',
                )
        if self.scope is None:
            return
        name = node.args[0].value
        inputs = self.scope.lookups.get(name)
        if inputs is None:
            known = frozenset(self.scope.lookups)
            hint = _did_you_mean(name, known) or (
                "declare it under the form's lookups:"
                if not known
                else "the form's lookups are " + ", ".join(sorted(known))
            )
            raise self.error(node.args[0], f"unknown lookup '{name}'", hint=hint)
        fields = self.scope.lookup_fields.get(name)
        if len(node.args) == 2 and fields is not None and node.args[1].value not in fields:
            raise self.error(
                node.args[1],
                f"the form searched by lookup '{name}' has no field '{node.args[1].value}'",
                hint=_did_you_mean(node.args[1].value, fields),
            )
        for input_name in sorted(inputs):
            if not self.scope.knows(input_name):
                raise self.error(
                    node,
                    f"lookup '{name}' reads '{input_name}', which is not available here",
                    hint="use MATCH where every name of the lookup's match is a field or "
                    "a column of this row",
                )
        self.result.names.update(inputs)


def _did_you_mean(name: str, candidates: frozenset[str]) -> str | None:
    matches = difflib.get_close_matches(name, sorted(candidates), n=3, cutoff=0.6)
    if not matches:
        return None
    return "did you mean " + " or ".join(f"'{m}'" for m in matches) + "?"


_HANDLERS: dict[type, Callable[[Checker, Any, int], Node]] = {
    ast.Constant: Checker.constant,
    ast.Name: Checker.name,
    ast.List: Checker.sequence,
    ast.Tuple: Checker.sequence,
    ast.UnaryOp: Checker.unary,
    ast.BinOp: Checker.binary,
    ast.BoolOp: Checker.boolean,
    ast.Compare: Checker.compare,
    ast.IfExp: Checker.conditional,
    ast.Call: Checker.call,
}


def check(tree: ast.expr, source_map: SourceMap, scope: ExpressionScope | None) -> CheckResult:
    """Check a parsed formula against the whitelist and the scope."""
    return Checker(source_map, scope).check(tree)
