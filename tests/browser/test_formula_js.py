"""web/static/js/formula.js in a real Chromium gives exactly what the server's evaluator
gives, on every case of tests/expressions/formula_cases.py (docs/expressions.md, "In the
browser").

The page is served over HTTP with the site's script policy (``script-src 'self'``, no
``unsafe-eval``) and loads only the vendored decimal.js and formula.js; the browser runs
in New York time, so nothing may depend on the machine's time zone.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.expressions import compile_expression
from tests.expressions.formula_cases import (
    EXAMPLE_CONTEXT,
    EXAMPLE_RECORD,
    all_cases,
    js_context,
    python_outcome,
)

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
CSP = "default-src 'none'; script-src 'self'"
PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>formula.js</title>
<script src="/static/vendor/decimal.js@10.6.0/decimal.js"></script>
<script src="/static/js/formula.js"></script>
</head><body></body></html>
"""
INLINE = b"<!doctype html><script>window.inlineRan = true;</script>"


class _Handler(http.server.SimpleHTTPRequestHandler):
    """/ is the blank page (/inline one with an inline script); /static/... are the site's static files; every answer carries
    the site's script policy."""

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        if self.path in ("/", "/inline"):
            body = PAGE if self.path == "/" else INLINE
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if not self.path.startswith("/static/"):
            self.send_error(404)
            return
        self.path = self.path[len("/static") :]
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def static_site() -> Iterator[str]:
    handler = functools.partial(_Handler, directory=str(STATIC))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="formula-js", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def formula_page(chromium: Any, static_site: str) -> Iterator[Any]:
    context = chromium.new_context(timezone_id="America/New_York", locale="en-US")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning")
            else None
        ),
    )
    page.goto(static_site)
    page.wait_for_function("window.LowcodeFormula !== undefined")
    page.problems = problems  # what the page reported (checked when the test ends)
    yield page
    context.close()
    assert not problems, problems


_RUN = """cases => cases.map(c => {
  try {
    const r = window.LowcodeFormula.tryEvaluate(c.tree, c.values, c.context);
    return r.ok ? {value: r.value} : {error: {message: r.error.message, column: r.error.column}};
  } catch (e) {
    return {crash: String(e && e.stack || e)};
  }
})"""


def test_formula_js_agrees_with_the_server_on_every_case(formula_page):
    cases = all_cases()
    payload = [
        {"tree": compile_expression(c.expr).to_json(), "values": c.values, "context": js_context(c)}
        for c in cases
    ]
    answers = formula_page.evaluate(_RUN, payload)
    differences = []
    for case, answer in zip(cases, answers, strict=True):
        expected = python_outcome(case)
        if answer != expected:
            differences.append(f"{case.expr} with {case.values}: Python {expected}, JS {answer}")
    assert not differences, f"{len(differences)} of {len(cases)} differ:\n" + "\n".join(differences)


def test_lookup_without_a_value_is_left_to_the_server(formula_page):
    tree = compile_expression('LOOKUP(supplier, "name")').to_json()
    context = {key: value for key, value in EXAMPLE_CONTEXT.items() if key != "lookups"}
    answer = formula_page.evaluate(
        "([t, v, c]) => window.LowcodeFormula.evaluate(t, v, c)", [tree, EXAMPLE_RECORD, context]
    )
    assert answer == {"$unknown": "LOOKUP"}


def test_errors_carry_message_column_and_hint(formula_page):
    tree = compile_expression("amount / qty").to_json()
    answer = formula_page.evaluate(
        """t => { try { window.LowcodeFormula.evaluate(t, {amount: {$number: '1'},
                 qty: {$number: '0'}}, {}); return null; }
               catch (e) { return [e instanceof window.LowcodeFormula.FormulaError,
                                   e.message, e.column, e.hint]; } }""",
        tree,
    )
    assert answer == [
        True,
        "division by zero",
        8,
        "guard the divisor, e.g. IF(qty == 0, None, amount / qty)",
    ]


def test_the_page_runs_under_the_script_policy_without_eval(formula_page, static_site):
    # the policy is in force: an inline script on a page served the same way is refused
    formula_page.goto(static_site + "inline")
    assert formula_page.evaluate("window.inlineRan === undefined")
    assert any("Content Security Policy" in problem for problem in formula_page.problems)
    formula_page.problems.clear()  # that refusal was the point
    # and formula.js never builds code from text (it could not under script-src 'self')
    source = (STATIC / "js" / "formula.js").read_text(encoding="utf-8")
    for banned in ("eval(", "new Function", "Function(", "setTimeout('", 'setTimeout("'):
        assert banned not in source, banned
