"""Parse YAML text at the node level, keeping the position of every value.

PyYAML's ``safe_load`` throws positions away and silently keeps the last of two equal
keys. Composing nodes and constructing the data ourselves keeps every node's start mark
(for located errors), detects duplicate keys, reads floats as ``Decimal`` (money is
never a float) and notices keys that YAML 1.1 reads as booleans.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.definitions.source import NodeSpan, Path, Source, file_error, format_path
from engine.errors import DefinitionError

#: guards against alias bombs ("billion laughs"): a definition never needs this many values
MAX_NODES = 200_000
_BOOL_TAG = "tag:yaml.org,2002:bool"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _TooManyNodes(Exception):
    """Raised while composing a document that expands past MAX_NODES."""


def read_documents(text: str, file: str) -> tuple[list[Source], list[DefinitionError]]:
    """Every YAML document of ``text`` as a :class:`Source`, plus the problems found.

    A syntax error stops the file (the parser cannot go on) and is reported at the
    parser's line and column.
    """
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "cannot be parsed"
        hint = f"{exc.context} (line {exc.context_mark.line + 1})" if exc.context_mark else None
        return [], [file_error(file, f"YAML syntax error: {problem}", hint, line, column)]
    except yaml.YAMLError as exc:
        return [], [file_error(file, f"YAML syntax error: {exc}")]
    sources: list[Source] = []
    errors: list[DefinitionError] = []
    for node in nodes:
        builder = _DocumentBuilder(file)
        try:
            data = builder.value(node, ())
        except _TooManyNodes:
            errors.append(
                file_error(
                    file,
                    f"the document expands to more than {MAX_NODES} values",
                    "reduce the use of YAML aliases (*name)",
                )
            )
            continue
        sources.append(Source(file, data, builder.spans))
        errors.extend(builder.errors)
    return sources, errors


class _DocumentBuilder:
    """Walks one composed document, building plain data and the path -> span map."""

    def __init__(self, file: str):
        self.file = file
        self.spans: dict[Path, NodeSpan] = {}
        self.errors: list[DefinitionError] = []
        self.count = 0
        self._constructor = SafeConstructor()

    def value(self, node: Node, path: Path, key_node: Node | None = None) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooManyNodes
        self.spans.setdefault(path, _span(node, key_node))
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        if isinstance(node, SequenceNode):
            return [self.value(child, (*path, i)) for i, child in enumerate(node.value)]
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        return None

    def _scalar(self, node: ScalarNode) -> Any:
        if node.tag == _FLOAT_TAG:
            # Decimal from the text as written: 0.1 stays exactly 0.1
            try:
                return Decimal(node.value.replace("_", ""))
            except InvalidOperation:
                return Decimal(str(self._constructor.construct_object(node)))
        return self._constructor.construct_object(node)

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                self._merge(value_node, path, result)
                continue
            key = self._key(key_node, path)
            if key is None:
                continue
            if key in first_line:
                self.errors.append(
                    DefinitionError(
                        self.file,
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                        _dotted(path, key),
                        f"duplicate key '{key}'",
                        f"'{key}' is already defined on line {first_line[key]}; keep one",
                    )
                )
                # the later value wins, as in PyYAML; its spans replace the first ones
                self._forget(path + (key,))
            first_line[key] = key_node.start_mark.line + 1
            result[key] = self.value(value_node, (*path, key), key_node)
        return result

    def _merge(self, node: Node, path: Path, result: dict[str, Any]) -> None:
        """``<<: *defaults``: keys from the merged mapping(s) that are not already set."""
        merged = node.value if isinstance(node, SequenceNode) else [node]
        for source in merged:
            if isinstance(source, MappingNode):
                for key, value in self._mapping(source, path).items():
                    result.setdefault(key, value)

    def _key(self, node: Node, path: Path) -> str | None:
        where = (node.start_mark.line + 1, node.start_mark.column + 1)
        if not isinstance(node, ScalarNode):
            self.errors.append(
                DefinitionError(self.file, *where, _dotted(path), "a key must be plain text")
            )
            return None
        if node.tag == _BOOL_TAG and node.value.lower() not in ("true", "false"):
            self.errors.append(
                DefinitionError(
                    self.file,
                    *where,
                    _dotted(path, node.value),
                    f"YAML reads the key {node.value} as a boolean",
                    f'quote it: "{node.value}"',
                )
            )
        return node.value

    def _forget(self, path: Path) -> None:
        for known in [p for p in self.spans if p[: len(path)] == path]:
            del self.spans[known]


def _span(node: Node, key_node: Node | None) -> NodeSpan:
    start, end = node.start_mark, node.end_mark
    is_scalar = isinstance(node, ScalarNode)
    return NodeSpan(
        line=start.line + 1,
        column=start.column + 1,
        key_line=key_node.start_mark.line + 1 if key_node else None,
        key_column=key_node.start_mark.column + 1 if key_node else None,
        style=node.style if is_scalar else None,
        raw=node.value if is_scalar else None,
        single_line=start.line == end.line,
    )


def _dotted(path: Path, key: str | None = None) -> str:
    return format_path((*path, key) if key is not None else path)
