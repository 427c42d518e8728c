"""One table of formula cases for both evaluators: the server's (Python) and the browser's
(``web/static/js/formula.js`` on decimal.js).

``tests/expressions/test_formula_cases.py`` runs every case through
``compile_expression(...).evaluate`` and checks the expected result;
``tests/browser/test_formula_js.py`` gives each case's ``to_json()`` tree to formula.js in
Chromium and checks that it answers exactly what Python answers.

Values and results are written in the canonical JSON form of docs/expressions.md ("In
the browser"): ``null``, ``true``/``false``, text as a string, ``{"$number": str(Decimal)}``
(so ``"4.50"`` and ``"4.5"`` differ), ``{"$date": "YYYY-MM-DD"}``, ``{"$datetime":
isoformat}``, lists, and sub-table rows as plain objects. A case expects either a
result or an error message (the error's kind; the column is compared between the two
evaluators as well). Cases taken from the docs carry ``ref``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from engine.expressions import EvaluationContext, compile_expression
from engine.expressions.reference import EXAMPLE_VALUES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "expressions.md"
SHANGHAI = ZoneInfo("Asia/Shanghai")
#: the moment every case runs at unless it says otherwise
NOW = "2024-05-20T12:00:00+08:00"


def N(text: str) -> dict[str, str]:
    """A number in canonical form."""
    return {"$number": text}


def D(text: str) -> dict[str, str]:
    """A date in canonical form."""
    return {"$date": text}


def DT(text: str) -> dict[str, str]:
    """A date-time in canonical form (isoformat with its offset)."""
    return {"$datetime": text}


#: the volume tiers of CHANNEL_DOMAIN C5 as a sub-table (rates as percent fields store them)
TIERS_C5 = [
    {"lower": N("0"), "upper": N("1000000.00"), "rate": N("0")},
    {"lower": N("1000000.00"), "upper": N("2000000.00"), "rate": N("0.02")},
    {"lower": N("2000000.00"), "upper": None, "rate": N("0.03")},
]
#: the same bands as a list literal
BANDS_C5 = "[[0, 1000000, 0], [1000000, 2000000, 0.02], [2000000, null, 0.03]]"


@dataclass(frozen=True)
class Case:
    """One formula, the record it reads, and what it must give."""

    expr: str
    values: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    error: str | None = None
    #: the evaluation context as JSON: now (isoformat), user, department, dealer, region,
    #: lookups ({relation: {record id: {target: value}}})
    context: dict[str, Any] = field(default_factory=dict)
    #: where a documented example comes from
    ref: str = ""
    #: the formula must be refused when compiled (Python only: the browser gets checked trees)
    compile_error: str | None = None

    @property
    def id(self) -> str:
        if self.ref.startswith("docs/expressions.md, Functions") or "In the browser" in self.ref:
            return f"doc: {self.expr}"
        return self.expr if not self.values else f"{self.expr} | {sorted(self.values)}"


def ok(expr: str, result: Any, values: dict[str, Any] | None = None, **more: Any) -> Case:
    return Case(expr, values or {}, result=result, **more)


def err(expr: str, message: str, values: dict[str, Any] | None = None, **more: Any) -> Case:
    return Case(expr, values or {}, error=message, **more)


# -- canonical JSON <-> Python values -------------------------------------------------
def to_python(value: Any) -> Any:
    """Canonical JSON -> the value a record holds (Decimal, date, aware datetime...)."""
    if isinstance(value, list):
        return [to_python(item) for item in value]
    if isinstance(value, dict):
        if "$number" in value:
            return Decimal(value["$number"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
        if "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
        return {key: to_python(item) for key, item in value.items()}
    return value


def to_canonical(value: Any) -> Any:
    """A formula's Python result -> canonical JSON."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal | int):
        return {"$number": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, list | tuple):
        return [to_canonical(item) for item in value]
    if isinstance(value, dict):
        return {key: to_canonical(item) for key, item in value.items()}
    raise TypeError(f"no canonical form for {type(value).__name__}")


def python_context(case: Case) -> EvaluationContext:
    options = dict(case.context)
    now = datetime.fromisoformat(options.pop("now", NOW))
    lookups = options.pop("lookups", None)
    lookup = None
    if lookups is not None:

        def lookup(relation: str, record_id: Any, target: str) -> Any:
            return to_python(lookups[relation][str(record_id)][target])

    return EvaluationContext(now=now, lookup=lookup, **options)


def js_context(case: Case) -> dict[str, Any]:
    """The context formula.js receives: the same facts as JSON."""
    return {"now": NOW, "timezone": "Asia/Shanghai", **case.context}


def python_outcome(case: Case) -> dict[str, Any]:
    """``{"value": canonical}`` or ``{"error": {"message", "column"}}`` from Python."""
    from engine.errors import ExpressionError

    compiled = compile_expression(case.expr)
    try:
        value = compiled.evaluate(to_python(case.values), python_context(case))
    except ExpressionError as error:
        return {"error": {"message": error.message, "column": error.column}}
    return {"value": to_canonical(value)}


# -- the documented examples ------------------------------------------------------------
EXAMPLE_CONTEXT = {
    "now": "2024-05-20T10:30:00+08:00",
    "user": "zhang.wei",
    "department": "sales_east",
    "dealer": "DL-HZ-001",
    "region": "hangzhou",
    "lookups": {"supplier": {"7": {"name": "华东供应商"}}},
}
EXAMPLE_RECORD = to_canonical(EXAMPLE_VALUES)


def _documented(text: str) -> Any:
    """A result as the docs write it (reference.display) -> canonical JSON."""
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return D(text)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}", text):
        return DT(text.replace(" ", "T"))
    Decimal(text)  # a number, or the docs changed shape: fail loudly
    return N(text)


#: functions answered by the server's database (no browser or offline evaluation); their
#: documented examples are checked by tests/expressions/test_docs_and_boundaries.py
SERVER_ONLY = frozenset({"AGGREGATE", "AVAILABLE", "BALANCE", "MATCH"})


def doc_function_examples() -> list[Case]:
    """Every row of the generated function table in docs/expressions.md."""
    cases = []
    row = re.compile(
        r"^\| `(?P<sig>[^`]+)` \| .* \| `(?P<example>[^`]+)` \| `(?P<result>[^`]+)` \|$"
    )
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        match = row.match(line)
        if match and match["example"].split("(")[0] in SERVER_ONLY:
            continue  # reads the database in the saving transaction: tested by its own app
        if match:
            cases.append(
                Case(
                    match["example"],
                    EXAMPLE_RECORD,
                    result=_documented(match["result"]),
                    context=EXAMPLE_CONTEXT,
                    ref=f"docs/expressions.md, Functions: {match['sig']}",
                )
            )
    return cases


def doc_arrow_examples() -> list[Case]:
    """``expr → result`` lines of the code blocks of docs/expressions.md (section "In the
    browser"), evaluated against the example record of the function table."""
    cases = []
    text = DOCS.read_text(encoding="utf-8")
    for block in re.findall(r"```text\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            if " → " not in line:
                continue
            expr, _, result = line.partition(" → ")
            expr, result = expr.strip(), result.strip()
            case_args = {"context": EXAMPLE_CONTEXT, "ref": "docs/expressions.md, In the browser"}
            if result.startswith("error: "):
                cases.append(Case(expr, EXAMPLE_RECORD, error=result[7:], **case_args))
            else:
                cases.append(Case(expr, EXAMPLE_RECORD, result=_json_result(result), **case_args))
    return cases


def _json_result(text: str) -> Any:
    return json.loads(text)


VALUES_DOC = "docs/expressions.md, Values and rules"
LINES = [
    {"amount": N("1.50"), "qty": N("2")},
    {"amount": None, "qty": N("1")},
    {"amount": N("3.00")},
]

CASES: list[Case] = [
    # arithmetic with Decimals and the exponents Python keeps
    ok("0.1 + 0.2", N("0.3")),
    ok("1.50 + 1.50", N("3.00")),
    ok(
        "qty * price",
        N("119.88"),
        {"qty": N("12"), "price": N("9.99")},
        ref="docs/expressions.md, intro",
    ),
    ok("1.10 * 1.10", N("1.2100")),
    ok("7 / 2", N("3.5"), ref=VALUES_DOC),
    ok("1 / 3", N("0.3333333333333333333333333333")),
    ok("2 / 3", N("0.6666666666666666666666666667")),
    ok("-2 / 3", N("-0.6666666666666666666666666667")),
    ok("1.00 / 2", N("0.50")),
    ok("100 / 4", N("25")),
    ok("1e3 / 1", N("1E+3")),
    ok("1e3", N("1E+3")),
    ok("1_000", N("1000")),
    ok("0.000001 * 1", N("0.000001")),
    ok("0.0000001 * 1", N("1E-7")),
    ok("0 * -1", N("-0")),
    ok("-0", N("0")),
    ok("0.00 - 0.00", N("0.00")),
    ok("1.5 - 1.5", N("0.0")),
    ok("10 / 3 * 3", N("9.999999999999999999999999999")),
    ok("(1 / 3) * 3", N("0.9999999999999999999999999999")),
    ok("9999999999999999999999999999 + 1", N("1.000000000000000000000000000E+28")),
    ok("123456789012345678901234567890 * 1", N("1.234567890123456789012345679E+29")),
    ok("-7 // 2", N("-4"), ref=VALUES_DOC),
    ok("7 // 2", N("3")),
    ok("7.5 // 2", N("3")),
    ok("-1 // 3", N("-1")),
    ok("0 // -3", N("-0")),
    ok("-7 % 3", N("2"), ref=VALUES_DOC),
    ok("7 % -3", N("-2")),
    ok("7.5 % 2", N("1.5")),
    ok("2 ** 10", N("1024")),
    ok("1.10 ** 2", N("1.2100")),
    ok("2 ** -2", N("0.25")),
    ok("2.0 ** -1", N("0.5")),
    ok("0.1 ** -3", N("1E+3")),
    ok("3 ** -1", N("0.3333333333333333333333333333")),
    ok("2 ** 0.5", N("1.414213562373095048801688724")),
    ok("4 ** 0.5", N("2.000000000000000000000000000")),
    ok("1.1 ** 30", N("17.44940226888640731855880375")),
    ok("-2 ** 3", N("-8")),
    ok("(-2) ** 3", N("-8")),
    ok("5 ** 0", N("1")),
    ok("0 ** 3", N("0")),
    ok("+qty", N("12"), {"qty": N("12")}),
    ok("-qty", N("-12.50"), {"qty": N("12.50")}),
    ok("x * 2", N("0.2"), {"x": 0.1}),
    ok("x + 1", N("13"), {"x": 12}),
    err("amount / qty", "division by zero", {"amount": N("5"), "qty": N("0")}, ref=VALUES_DOC),
    err("1 / 0", "division by zero"),
    err("0 / 0", "the calculation has no defined result"),
    err("0 // 0", "the calculation has no defined result"),
    err("0.0 % 0", "the calculation has no defined result"),
    err("1 // 0", "division by zero"),
    err("1 % 0", "division by zero"),
    err("0 ** -1", "0 to the power -1 has no value (division by zero)"),
    err("0 ** 0", "the calculation has no defined result"),
    err("(-8) ** 0.5", "the calculation has no defined result"),
    err(
        "9**9**9",
        "the exponent 387420489 is too large (at most 1000)",
        ref="docs/expressions.md, Limits",
    ),
    err("10 ** 1000", "the number is too large"),
    err("1e30 ** 40", "the number is too large"),
    err("1e30 // 1", "the calculation has no defined result"),
    ok("1 + (2 + (x / 2))", N("4.5"), {"x": N("3")}),
    err("1 + (2 + (x / 0))", "division by zero", {"x": N("3")}),
    ok("IF(qty == 0, None, amount / qty)", None, {"qty": N("0"), "amount": N("5")}, ref=VALUES_DOC),
    # rounding: half up at result points
    ok("ROUND(2.675, 2)", N("2.68")),
    ok("ROUND(2.665, 2)", N("2.67"), ref=VALUES_DOC),
    ok("ROUND(-2.5)", N("-3")),
    ok("ROUND(2.5)", N("3")),
    ok("ROUND(1 / 3, 2)", N("0.33")),
    ok("ROUND(2 / 3, 4)", N("0.6667")),
    ok("ROUND(1234.5678, -2)", N("1.2E+3")),
    ok("TEXT(ROUND(1234.5678, -2))", "1200"),
    ok("ROUND(-0.4)", N("-0")),
    ok("ROUND(3, 2)", N("3.00")),
    ok("ROUND(3, 2.0)", N("3.00")),
    ok("ROUND(x, 2)", None, {"x": None}),
    ok(
        "ROUND(SUM(lines.amount) * (1 - discount), 2)",
        N("4.05"),
        {"lines": LINES, "discount": N("0.1")},
        ref="docs/expressions.md, intro",
    ),
    ok("CEILING(2.01)", N("3")),
    ok("CEILING(-2.5)", N("-2")),
    ok("CEILING(2.001, 2)", N("2.01")),
    ok("FLOOR(-2.5)", N("-3")),
    ok("FLOOR(2.999, 2)", N("2.99")),
    ok("ABS(-3.50)", N("3.50")),
    ok("ABS(x)", None, {"x": None}),
    err("ROUND(1, 21)", "ROUND rounds to at most 20 digits"),
    err("ROUND(1, 1.5)", "the digits of ROUND must be a whole number, got 1.5"),
    err("ROUND('a', 2)", "ROUND needs a number, got text"),
    err("ROUND(1e27, 2)", "ROUND: the number is too large to round"),
    err("ROUND(1, x)", "the digits of ROUND must be a whole number, got blank", {"x": None}),
    # blanks
    ok("qty * price", None, {"qty": None, "price": N("9.99")}),
    ok("missing + 1", None),
    ok("-x", None, {"x": None}),
    ok("x == None", True, {"x": None}, ref=VALUES_DOC),
    ok("x != None", True, {"x": N("0")}, ref=VALUES_DOC),
    ok("x > 1", False, {"x": None}),
    ok("x <= 1", False, {"x": None}),
    ok("ISBLANK(x)", True, {"x": ""}),
    ok("ISBLANK(x)", True, {"x": []}),
    ok("ISBLANK(0)", False),
    ok("COALESCE(a, b, 'z')", "z", {"a": None, "b": ""}),
    ok("COALESCE(a, b)", None, {"a": None, "b": None}),
    # comparisons
    ok("'1' == 1", False, ref=VALUES_DOC),
    ok("True == 1", False, ref=VALUES_DOC),
    ok("1 == 1.0", True, ref=VALUES_DOC),
    ok("1.50 == 1.5", True),
    ok("0 == -0", True),
    ok("1 < x <= 3", True, {"x": N("3")}, ref="docs/expressions.md, Syntax"),
    ok("1 < x <= 3", False, {"x": N("1")}),
    ok("'abc' < 'abd'", True),
    ok("'Z' < 'a'", True),
    ok("'\uffff' < '😀'", True),
    ok("False < True", True),
    ok("d >= TODAY()", True, {"d": D("2024-05-20")}),
    ok(
        "needed_by >= TODAY()",
        False,
        {"needed_by": D("2024-05-19")},
        ref="docs/expressions.md, intro",
    ),
    ok("t > d", True, {"t": DT("2024-05-20T00:00:01+08:00"), "d": D("2024-05-20")}),
    ok("t == d", True, {"t": DT("2024-05-20T00:00:00+08:00"), "d": D("2024-05-20")}),
    ok(
        "t == u", True, {"t": DT("2024-05-20T02:00:00+00:00"), "u": DT("2024-05-20T10:00:00+08:00")}
    ),
    ok("d == '2024-05-20'", False, {"d": D("2024-05-20")}),
    ok("region in ['east', 'south']", True, {"region": "east"}, ref="docs/expressions.md, Syntax"),
    ok("region not in ['east', 'south']", True, {"region": "north"}),
    ok("'east' in tags", True, {"tags": ["north", "east"]}),
    ok("'st' in region", True, {"region": "east"}),
    ok("1 in [1.0, 2]", True),
    ok("'1' in [1, 2]", False),
    ok("x in region", False, {"region": None, "x": "a"}),
    ok("[1, 2] == [1, 2.0]", True),
    err("x in region", "cannot look for number in text with in", {"x": N("1"), "region": "abc"}),
    err("'1' < 2", "cannot compare text with number using <"),
    err("1 < x < 'a'", "cannot compare number with text using <", {"x": N("2")}),
    err("1 < (x + 1) < 'a'", "cannot compare number with text using <", {"x": N("2")}),
    err("d < 1", "cannot compare date with number using <", {"d": D("2024-05-20")}),
    # and / or / not
    ok(
        "urgent or total > 50000",
        True,
        {"urgent": False, "total": N("60000")},
        ref="docs/expressions.md, intro",
    ),
    ok("urgent or total > 50000", False, {"urgent": None, "total": None}),
    ok("1 and 'x'", True),
    ok("0 or ''", False),
    ok("not x", True, {"x": N("0.00")}),
    ok("not x", False, {"x": [1]}),
    ok("not x", True, {"x": []}),
    ok("AND(1, 2, 0)", False),
    ok("OR(0, None, 'a')", True),
    ok("NOT(None)", True),
    ok("x > 0 and 1 / x > 0.5", False, {"x": N("0")}),
    ok("x == 0 or 1 / x > 0.5", True, {"x": N("0")}),
    # IF and a if c else b
    ok("IF(qty > 5, 'bulk', 'single')", "single", {"qty": N("5")}),
    ok("IF(qty > 5, 'bulk')", None, {"qty": N("5")}),
    ok("IF(1, 2 / 1, 1 / 0)", N("2")),
    ok("'a' if x else 'b'", "b", {"x": ""}),
    ok("x if x else 0", N("0"), {"x": None}),
    err("IF(x > 1, 1 / 0, 2)", "division by zero", {"x": N("5")}),
    # aggregates over sub-table columns
    ok("SUM(lines.amount)", N("4.50"), {"lines": LINES}),
    ok("SUM(lines.amount) * 2", N("9.00"), {"lines": LINES}, ref="docs/expressions.md, Python API"),
    ok("SUM(lines.qty)", N("3"), {"lines": LINES}),
    ok("SUM(lines.amount)", N("0"), {"lines": []}),
    ok("SUM(lines.amount)", N("0"), {"lines": None}),
    ok("SUM(1, 2.5, x)", N("3.5"), {"x": None}),
    ok("SUM([1, 2], 3)", N("6")),
    ok("AVG(lines.amount)", N("2.25"), {"lines": LINES}),
    ok("AVG(lines.amount)", None, {"lines": []}),
    ok("AVG(1, 2)", N("1.5")),
    ok("AVG(1, 2, 2)", N("1.666666666666666666666666667")),
    ok("COUNT(lines)", N("3"), {"lines": LINES}),
    ok("COUNT(lines.amount)", N("2"), {"lines": LINES}),
    ok("COUNT(a, b, c)", N("1"), {"a": "", "b": None, "c": "x"}),
    ok("MIN(lines.amount)", N("1.50"), {"lines": LINES}),
    ok("MAX(lines.amount)", N("3.00"), {"lines": LINES}),
    ok("MAX(qty, 20)", N("20"), {"qty": N("12")}),
    ok("MIN('b', 'a')", "a"),
    ok("MAX(d, e)", D("2024-06-01"), {"d": D("2024-05-20"), "e": D("2024-06-01")}),
    ok("MIN(lines.amount)", None, {"lines": [{"amount": None}]}),
    ok("SUM(lines.amount) / COUNT(lines.amount)", N("2.25"), {"lines": LINES}),
    err("SUM(lines.name)", "SUM works on numbers only, found text", {"lines": [{"name": "x"}]}),
    err("SUM(lines)", "SUM works on numbers only, found row", {"lines": LINES}),
    err("MAX(1, 'a')", "cannot compare text with number using >"),
    # text
    ok("'a' + 'b'", "ab"),
    ok("'ab' * 3", "ababab"),
    ok("2 * 'ab'", "abab"),
    ok("'ab' * -1", ""),
    ok("CONCAT('PR-', qty, '-', region)", "PR-12-east", {"qty": N("12"), "region": "east"}),
    ok(
        "CONCAT(1e3, '|', 19.90, '|', x, '|', True, '|', d)",
        "1000|19.90||TRUE|2024-01-31",
        {"x": None, "d": D("2024-01-31")},
        ref=VALUES_DOC,
    ),
    ok("CONCAT(t)", "2024-05-20 10:30:00", {"t": DT("2024-05-20T10:30:00+08:00")}),
    ok("CONCAT(tags)", "a, b", {"tags": ["a", "b"]}),
    ok("TEXT(1e3)", "1000", ref=VALUES_DOC),
    ok("TEXT(19.90)", "19.90", ref=VALUES_DOC),
    ok("TEXT(0 * -1)", "-0"),
    ok("TEXT(0.0000001 * 1)", "0.0000001"),
    ok("TEXT(x)", "", {"x": None}),
    ok("TEXT(False)", "FALSE"),
    ok("TEXT(1 / 3)", "0.3333333333333333333333333333"),
    ok("LEN('经销商')", N("3")),
    ok("LEN('😀a')", N("2")),
    ok("LEN(x)", N("0"), {"x": None}),
    ok("LEN(tags)", N("2"), {"tags": ["a", "b"]}),
    ok("UPPER('straße')", "STRASSE"),
    ok("LOWER('ÉCOLE')", "école"),
    ok("TRIM('\u3000 经销商 \t')", "经销商"),
    ok("TRIM('\ufeffa')", "\ufeffa"),
    ok("TRIM(x)", None, {"x": None}),
    ok("VALUE(' 1,234.50 ')", N("1234.50")),
    ok("VALUE('¥12')", N("12")),
    ok("VALUE('￥1，000')", N("1000")),
    ok("VALUE('1e3')", N("1E+3")),
    ok("VALUE('-0.50')", N("-0.50")),
    ok("VALUE('1_000')", N("1000")),
    ok("VALUE('5.')", N("5")),
    ok("VALUE('.5')", N("0.5")),
    ok("VALUE('  ')", None),
    ok("VALUE(x)", N("3"), {"x": N("3")}),
    err("VALUE('abc')", "VALUE: 'abc' is not a number"),
    err("VALUE('Infinity')", "VALUE: 'Infinity' is not a number"),
    err('VALUE("it\'s")', 'VALUE: "it\'s" is not a number'),
    err("VALUE('1e99')", "VALUE: '1e99' is not a number"),
    err("VALUE(True)", "VALUE needs text, got yes/no"),
    err("'a' + 1", "cannot add text and number with +"),
    err("'a' % 2", "cannot take the remainder of text and number with %"),
    err("'a' * 1.5", "the repeat count of a text must be a whole number, got 1.5"),
    err(
        "'a' * 10**9",
        "the text result would be longer than 100,000 characters",
        ref="docs/expressions.md, Limits",
    ),
    err("-'a'", "cannot negate text with -"),
    err("+d", "cannot use + on date", {"d": D("2024-05-20")}),
    err("UPPER(1)", "UPPER needs text, got number"),
    err("LEN(1)", "LEN needs text, got number"),
    err("ROUND(a, 2) + UPPER(b)", "UPPER needs text, got number", {"a": N("1"), "b": N("2")}),
    # dates
    ok("TODAY()", D("2024-05-20")),
    ok("TODAY()", D("2024-05-21"), context={"now": "2024-05-20T16:30:00+00:00"}),
    ok("NOW()", DT("2024-05-20T12:00:00+08:00")),
    ok("NOW()", DT("2024-05-21T00:30:00+08:00"), context={"now": "2024-05-20T16:30:00+00:00"}),
    ok("d + 1", D("2024-03-01"), {"d": D("2024-02-29")}),
    ok("1 + d", D("2024-03-01"), {"d": D("2024-02-29")}),
    ok("d - 30", D("2024-01-30"), {"d": D("2024-02-29")}),
    ok("e - d", N("31"), {"d": D("2024-01-01"), "e": D("2024-02-01")}),
    ok("d - e", N("-31"), {"d": D("2024-01-01"), "e": D("2024-02-01")}),
    ok("t + 0.5", DT("2024-05-21T00:00:00+08:00"), {"t": DT("2024-05-20T12:00:00+08:00")}),
    ok("t - 1 / 3", DT("2024-05-20T04:00:00+08:00"), {"t": DT("2024-05-20T12:00:00+08:00")}),
    ok(
        "t + 0.1 / 86400",
        DT("2024-05-20T12:00:00.100000+08:00"),
        {"t": DT("2024-05-20T12:00:00+08:00")},
    ),
    ok(
        "t - u",
        N("0.5416666666666666666666666667"),
        {"t": DT("2024-05-20T13:00:00+08:00"), "u": DT("2024-05-20T00:00:00+08:00")},
    ),
    ok(
        "t - u",
        N("0.5"),
        {"t": DT("2024-05-20T12:00:00+08:00"), "u": DT("2024-05-20T00:00:00+08:00")},
    ),
    ok(
        "t - u",
        N("0.000001157407407407407471656425036"),
        {"t": DT("2024-05-20T12:00:00.100000+08:00"), "u": DT("2024-05-20T12:00:00+08:00")},
    ),
    ok("t - d", N("0.5"), {"t": DT("2024-05-20T12:00:00+08:00"), "d": D("2024-05-20")}),
    ok("t", DT("2024-05-20T10:00:00+08:00"), {"t": DT("2024-05-20T02:00:00Z")}),
    ok("t", DT("2024-05-20T02:00:00+08:00"), {"t": DT("2024-05-20T02:00:00")}),
    ok("DATEDIF(a, b)", N("366"), {"a": D("2024-01-01"), "b": D("2025-01-01")}),
    ok("DATEDIF(a, b, 'month')", N("1"), {"a": D("2024-01-31"), "b": D("2024-03-01")}),
    ok("DATEDIF(a, b, 'month')", N("0"), {"a": D("2024-01-31"), "b": D("2024-02-28")}),
    ok("DATEDIF(a, b, 'months')", N("-1"), {"a": D("2024-02-29"), "b": D("2024-01-29")}),
    ok("DATEDIF(a, b, 'YEAR')", N("4"), {"a": D("2020-02-29"), "b": D("2024-02-29")}),
    ok("DATEDIF(a, b, 'year')", N("3"), {"a": D("2020-02-29"), "b": D("2024-02-28")}),
    ok("DATEDIF(a, b, 'week')", N("-2"), {"a": D("2024-01-15"), "b": D("2024-01-01")}),
    ok("DATEDIF(a, TODAY())", N("1"), {"a": DT("2024-05-19T23:59:00+08:00")}),
    ok("DATEDIF(a, b)", None, {"a": None, "b": D("2024-01-01")}),
    ok("DATEADD(d, 1, 'month')", D("2024-02-29"), {"d": D("2024-01-31")}),
    ok("DATEADD(d, -1, 'year')", D("2023-02-28"), {"d": D("2024-02-29")}),
    ok("DATEADD(d, 2, 'week')", D("2024-02-14"), {"d": D("2024-01-31")}),
    ok("DATEADD(d, 10)", D("2024-02-10"), {"d": D("2024-01-31")}),
    ok(
        "DATEADD(t, 1, 'month')",
        DT("2024-02-29T09:15:00+08:00"),
        {"t": DT("2024-01-31T09:15:00+08:00")},
    ),
    ok("DATEADD(d, x)", None, {"d": D("2024-01-31"), "x": None}),
    ok("YEAR(d) * 100 + MONTH(d)", N("202401"), {"d": D("2024-01-31")}),
    ok("DAY(t)", N("1"), {"t": DT("2024-05-31T16:00:00+00:00")}),
    ok("YEAR(x)", None, {"x": None}),
    err("DATEADD(d, 1, 'fortnight')", "DATEADD: unknown unit 'fortnight'", {"d": D("2024-01-31")}),
    err("DATEADD(d, 1, 2)", "DATEADD: unknown unit Decimal('2')", {"d": D("2024-01-31")}),
    err(
        "DATEADD(d, 1.5)",
        "the amount of DATEADD must be a whole number, got 1.5",
        {"d": D("2024-01-31")},
    ),
    err(
        "DATEADD(d, 10000, 'year')",
        "DATEADD: the result is outside the years 1 to 9999",
        {"d": D("2024-01-31")},
    ),
    err(
        "DATEADD(d, 4000000, 'day')",
        "DATEADD: the result is outside the years 1 to 9999",
        {"d": D("2024-01-31")},
    ),
    err("d + 4000000", "a date or number is out of range", {"d": D("2024-01-31")}),
    err(
        "d + 1.5",
        "the number of days added to a date must be a whole number, got 1.5",
        {"d": D("2024-01-31")},
    ),
    err("YEAR('2024')", "YEAR needs a date, got text"),
    err("DATEDIF(d, 1)", "DATEDIF needs a date, got number", {"d": D("2024-01-31")}),
    err("d + e", "cannot add date and date with +", {"d": D("2024-01-31"), "e": D("2024-01-31")}),
    # TIER and ALLOCATE (CHANNEL_DOMAIN C5 and C18); rates are fractions (2% is 0.02)
    *[
        ok(f"TIER(basis, tiers, '{mode}')", N(result), {"basis": N(basis), "tiers": TIERS_C5})
        for basis, mode, result in (
            ("2425000.00", "whole", "72750.0000"),
            ("2000000.00", "whole", "60000.0000"),
            ("1999999.99", "whole", "39999.9998"),
            ("1000000.00", "whole", "20000.0000"),
            ("999999.99", "whole", "0.00"),
            ("2425000.00", "progressive", "32750.0000"),
            ("2000000.00", "progressive", "20000.0000"),
            ("1999999.99", "progressive", "19999.9998"),
            ("1000000.00", "progressive", "0.0000"),
            ("999999.99", "progressive", "0.00"),
        )
    ],
    ok("ROUND(TIER(1999999.99, tiers, 'whole'), 2)", N("40000.00"), {"tiers": TIERS_C5}),
    ok("ROUND(TIER(1999999.99, tiers, 'progressive'), 2)", N("20000.00"), {"tiers": TIERS_C5}),
    ok(f"TIER(2425000, {BANDS_C5}, '超额')", N("32750.00")),
    ok(f"TIER(2425000, {BANDS_C5}, ' Whole ')", N("72750.00")),
    ok(f"TIER(x, {BANDS_C5}, 'whole')", None, {"x": None}),
    ok(f"TIER(-5000, {BANDS_C5}, 'progressive')", N("0")),
    ok("TIER(50, [[100, null, 0.1]], 'whole')", N("0")),
    ok(f"TIER(2425000, {BANDS_C5}, 'whole', 50000)", N("50000")),
    ok(f"TIER(1500000, {BANDS_C5}, 'progressive', null, 12000)", N("12000")),
    ok(f"TIER(1500000, {BANDS_C5}, 'progressive', 50000, 1000)", N("10000.00")),
    ok(
        "TIER(15, tiers, 'whole')",
        N("800.00"),
        {
            "tiers": [
                {"lower": N("20"), "upper": None, "rate": None, "fixed_amount": N("1500.00")},
                {"lower": N("0"), "upper": N("10"), "rate": N("0"), "fixed_amount": None},
                {"lower": N("10"), "upper": N("20"), "rate": None, "fixed_amount": N("800.00")},
            ]
        },
    ),
    ok("TIER(10, [[0, 10, 0.01], [10, null, 0.02]], 'whole')", N("0.20")),
    ok("TIER(10, [[0, 10, 0.01], [10, null, 0.02]], 'progressive')", N("0.10")),
    err(
        "TIER(5, [[0, 10, 0.01], [12, null, 0.02]], 'whole')",
        "TIER: gap between band 1 (ends at 10) and band 2 (starts at 12)",
    ),
    err(
        "TIER(5, [[0, 10, 0.01], [8, null, 0.02]], 'whole')",
        "TIER: band 1 (up to 10) overlaps band 2 (from 8)",
    ),
    err(
        "TIER(5, [[0, null, 0.01], [8, 20, 0.02]], 'whole')",
        "TIER: band 1 has no upper bound but band 2 starts above it at 8",
    ),
    err("TIER(5, [[0, 10, 0.01]], 'flat')", "TIER: unknown mode 'flat'"),
    err("TIER(5, [[0, 10, 0.01]], 1)", "TIER: unknown mode number"),
    err(
        "TIER(10, [[0, 10, 0.01]], 'whole')",
        "TIER: the value 10 is not below the highest band's upper bound 10",
    ),
    err(
        "TIER(5, [[0, 0, 0.01]], 'whole')",
        "TIER: band 1 has upper bound 0 not above its lower bound 0",
    ),
    err("TIER(5, [[null, 10, 0.01]], 'whole')", "TIER: band 1 has no lower bound"),
    err("TIER(5, [[0, 10, null]], 'whole')", "TIER: band 1 has neither a rate nor a fixed amount"),
    err("TIER(5, [[0, 10, 0.01, 3]], 'whole')", "TIER: band 1 has both a rate and a fixed amount"),
    err(
        "TIER(5, [[0, 10, 0, 3]], 'progressive')",
        "TIER: band 1 has a fixed amount, which only 'whole' mode uses",
    ),
    err("TIER(5, [[0, 10, '2%']], 'whole')", "TIER: the rate of band 1 must be a number, got text"),
    err(
        "TIER(5, [0, 10, 0.01], 'whole')",
        "TIER: band 1 must be a sub-table row or a list [lower, upper, rate], got number",
    ),
    err("TIER(5, t, 'whole')", "TIER: the tier table is empty", {"t": []}),
    err(
        "TIER(5, 3, 'whole')", "TIER: the tiers must be a sub-table or a list of bands, got number"
    ),
    err("TIER('5', [[0, 10, 0.01]], 'whole')", "TIER: the value must be a number, got text"),
    err("TIER(5, [[0, 10, 0.01]], 'whole', 1, 2)", "TIER: the cap 1 is below the floor 2"),
    ok("ALLOCATE(100.00, [300, 300, 300])", [N("33.34"), N("33.33"), N("33.33")]),
    ok(
        "ALLOCATE(discount, lines.amount)",
        [N("618.37"), N("305.30"), N("76.33")],
        {
            "discount": N("1000.00"),
            "lines": [
                {"amount": N("52500.00")},
                {"amount": N("25920.00")},
                {"amount": N("6480.00")},
            ],
        },
    ),
    ok(
        "ALLOCATE_SHARE(1000.00, lines.amount, 2)",
        N("305.30"),
        {"lines": [{"amount": N("52500.00")}, {"amount": N("25920.00")}, {"amount": N("6480.00")}]},
    ),
    ok("ALLOCATE(0.02, [1, 1, 1])", [N("0.01"), N("0.01"), N("0.00")]),
    ok("ALLOCATE(0.01, [1, 2, 2])", [N("0.00"), N("0.01"), N("0.00")]),
    ok("ALLOCATE(-100, [300, 300, 300])", [N("-33.34"), N("-33.33"), N("-33.33")]),
    ok("ALLOCATE(-0.01, [1, 0, 1])", [N("-0.01"), N("0.00"), N("0.00")]),
    ok("ALLOCATE(10, [0, null, 3])", [N("0.00"), N("0.00"), N("10.00")]),
    ok("ALLOCATE(0, [1, 2])", [N("0.00"), N("0.00")]),
    ok("ALLOCATE(x, [1, 2])", None, {"x": None}),
    ok("SUM(ALLOCATE(99.99, [1, 1, 1, 1, 1, 1, 7]))", N("99.99")),
    err(
        "ALLOCATE(10, [0, 0])", "ALLOCATE: the weights add up to 0, so there is nothing to split by"
    ),
    err("ALLOCATE(10, [1, -1])", "ALLOCATE: weight 2 is negative (-1)"),
    err("ALLOCATE(10, [1, 'a'])", "ALLOCATE: weight 2 must be a number, got text"),
    err("ALLOCATE(10.005, [1, 1])", "ALLOCATE: the total 10.005 has more than two decimal places"),
    err("ALLOCATE(10, lines.amount)", "ALLOCATE: there are no weights", {"lines": []}),
    err("ALLOCATE('10', [1])", "ALLOCATE: the total must be a number, got text"),
    err("ALLOCATE_SHARE(10, [1, 1], 3)", "ALLOCATE_SHARE: position 3 is outside the 2 weights"),
    err(
        "ALLOCATE_SHARE(10, [1, 1], 1.5)",
        "ALLOCATE_SHARE: the position must be a whole number, got 1.5",
    ),
    # the acting user
    ok("CURRENT_USER()", "li.na", context={"user": "li.na"}),
    ok("CURRENT_DEALER()", None),
    ok("CURRENT_DEPARTMENT() == 'sales'", True, context={"department": "sales"}),
    ok("LOOKUP(supplier, 'name')", None, {"supplier": None}),
]

#: compile-time refusals from the Errors table (Python only: the browser receives trees
#: that the server has already checked)
COMPILE_ERRORS: list[tuple[str, str]] = [
    ("round(qty)", "unknown function 'round'"),
    ("qty = 1", "syntax error"),
    ("ROUND(1, 2, 3)", "ROUND takes 1 to 2 argument(s), got 3"),
    ("x.upper()", "only library functions can be called"),
    ("lines[0]", "not allowed"),
]


def all_cases() -> list[Case]:
    """Every case: the table above plus the examples parsed out of the docs."""
    return CASES + doc_function_examples() + doc_arrow_examples()
