"""Cycles among computed fields (formulas and default expressions).

Nodes are ``total`` for a form field and ``lines.amount`` for a sub-table column. A row
expression's names resolve to its row first, then to the parent form; ``SUM(lines.x)``
depends on the column ``lines.x``. So a row formula that uses a parent formula which
sums that row formula is found as ``total -> lines.share -> total``.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.definitions.context import AppContext, FieldSite, FormInfo
from engine.definitions.source import Path
from engine.errors import DefinitionError, ExpressionError

#: keys whose expression computes the field's value
COMPUTING_KEYS = {"formula": ("expr", "default_expr")}
DEFAULT_COMPUTING_KEYS = ("default_expr",)


def _computed(form: FormInfo) -> dict[str, tuple[FieldSite, list[Path]]]:
    nodes: dict[str, tuple[FieldSite, list[Path]]] = {}
    for site in form.sites():
        keys = COMPUTING_KEYS.get(site.type or "", DEFAULT_COMPUTING_KEYS)
        paths = [site.at(k) for k in keys if isinstance(site.definition.get(k), str)]
        if paths:
            nodes[site.dotted_key] = (site, paths)
    return nodes


def _dependencies(form: FormInfo, site: FieldSite, paths: list[Path]) -> set[str]:
    from engine.expressions import compile_expression

    row = form.columns(site.parent) if site.parent else {}
    found: set[str] = set()
    for path in paths:
        try:
            compiled = compile_expression(form.source.get(path), None)
        except ExpressionError:
            continue  # reported by the expression check
        for name in compiled.names:
            if name in row:
                found.add(f"{site.parent.key}.{name}")
            elif name in form.top and form.top[name].type != "subtable":
                found.add(name)
        found.update(f"{table}.{column}" for table, column in compiled.subtable_refs)
    return found


def find_cycles(graph: dict[str, set[str]], order: list[str]) -> list[list[str]]:
    """Each distinct cycle once, starting at its earliest node in ``order``."""
    rank = {node: i for i, node in enumerate(order)}
    cycles: dict[frozenset[str], list[str]] = {}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ()), key=lambda n: rank.get(n, len(rank))):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :]
                start = min(range(len(cycle)), key=lambda i: rank[cycle[i]])
                cycles.setdefault(frozenset(cycle), cycle[start:] + cycle[:start])
            elif nxt in graph and state.get(nxt) is None:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in order:
        if state.get(node) is None:
            visit(node)
    return list(cycles.values())


def check_cycles(form: FormInfo, app: AppContext) -> Iterator[DefinitionError]:
    """Report every cycle among computed fields at its first field's expression."""
    nodes = _computed(form)
    graph = {
        key: _dependencies(form, site, paths) & set(nodes) for key, (site, paths) in nodes.items()
    }
    for cycle in find_cycles(graph, list(nodes)):
        site, paths = nodes[cycle[0]]
        yield form.source.fail(
            paths[0],
            f"computed fields depend on each other: {' -> '.join([*cycle, cycle[0]])}",
            "break the cycle: one of these fields must not use the other",
        )
