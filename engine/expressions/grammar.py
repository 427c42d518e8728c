"""The Python syntax the language accepts, as tables: operators and refused constructs.

The checker reads these tables; a construct missing from them is refused.
"""

from __future__ import annotations

import ast

BINARY = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
COMPARE = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}
UNARY = {ast.USub: "-", ast.UAdd: "+", ast.Not: "not"}
LOWER_CASE_CONSTANTS = {"true": True, "false": False, "null": None}

#: constructs refused outright, with what to write instead
REJECTED: dict[type, tuple[str, str | None]] = {
    ast.Subscript: ("indexing with [...] is not allowed", "use LOOKUP or an aggregate instead"),
    ast.Lambda: ("lambda is not allowed", None),
    ast.ListComp: ("comprehensions are not allowed", "use SUM/COUNT over a sub-table column"),
    ast.SetComp: ("comprehensions are not allowed", None),
    ast.DictComp: ("comprehensions are not allowed", None),
    ast.GeneratorExp: ("comprehensions are not allowed", None),
    ast.JoinedStr: ("f-strings are not allowed", "use CONCAT(...)"),
    ast.NamedExpr: ("assignment with := is not allowed", None),
    ast.Starred: ("starred arguments are not allowed", None),
    ast.Dict: ("dict literals are not allowed", None),
    ast.Set: ("set literals are not allowed", "use a list: [1, 2]"),
    ast.Await: ("await is not allowed", None),
    ast.Yield: ("yield is not allowed", None),
    ast.YieldFrom: ("yield is not allowed", None),
    ast.Slice: ("slices are not allowed", None),
}
