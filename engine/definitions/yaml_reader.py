"""Parse YAML text at the node level, keeping the position of every value.

PyYAML's ``safe_load`` throws positions away and silently keeps the last of two equal
keys. Composing nodes and constructing the data ourselves keeps every node's start mark
(for located errors), detects duplicate keys, reads floats as ``Decimal`` (money is
never a float) and notices keys that YAML 1.1 reads as booleans.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from engine.definitions.source import NodeSpan, Path, Source, file_error, format_path
from engine.errors import DefinitionError

#: guards against alias bombs ("billion laughs"): a definition never needs this many values
MAX_NODES = 200_000
#: lists and mappings nested deeper than this are refused (PyYAML composes recursively)
MAX_DEPTH = 64
#: reading problems reported per file; the rest are counted in one final error
MAX_ERRORS = 50
_YAML_TAG_PREFIX = "tag:yaml.org,2002:"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_MERGE_TAG = "tag:yaml.org,2002:merge"


_COLLECTION_TAGS = (_YAML_TAG_PREFIX + "seq", _YAML_TAG_PREFIX + "map")
#: what PyYAML (and the scanner's marks) count as a line break
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


class _TooManyNodes(Exception):
    """Raised while composing a document that expands past MAX_NODES."""


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML that a definition may not use (too deep, an alias inside its anchor)."""

    def __init__(self, problem: str, hint: str, mark: Any):
        super().__init__(problem=problem, problem_mark=mark)
        self.hint = hint


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing deep nesting and aliases used inside their anchor.

    The composer recurses once per nesting level, so a deeply nested document would end
    in a RecursionError; an alias inside its own anchor would make the node graph cyclic.
    """

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._building: set[str] = set()

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            if event.anchor in self._building:
                raise _Refused(
                    f"the alias *{event.anchor} is inside the value of its own anchor",
                    "an alias can only repeat a value that is complete",
                    event.start_mark,
                )
            return super().compose_node(parent, index)
        is_collection = isinstance(event, SequenceStartEvent | MappingStartEvent)
        if is_collection:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _Refused(
                    f"the values are nested more than {MAX_DEPTH} levels deep",
                    "a definition never needs this; flatten the structure",
                    event.start_mark,
                )
        anchor = event.anchor
        if anchor is not None:
            self._building.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            if is_collection:
                self._depth -= 1
            if anchor is not None:
                self._building.discard(anchor)


def read_documents(text: str, file: str) -> tuple[list[Source], list[DefinitionError]]:
    """Every YAML document of ``text`` as a :class:`Source`, plus the problems found.

    A syntax error stops the file (the parser cannot go on) and is reported at the
    parser's line and column.
    """
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except _Refused as exc:
        mark = exc.problem_mark
        return [], [file_error(file, exc.problem, exc.hint, mark.line + 1, mark.column + 1)]
    except ReaderError as exc:
        line, column = _line_and_column(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"the character U+{code:04X} is not allowed in YAML"
        return [], [file_error(file, message, "remove it", line, column)]
    except RecursionError:
        return [], [file_error(file, "the file is nested too deeply to be read", _FLATTEN)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "cannot be parsed"
        hint = f"{exc.context} (line {exc.context_mark.line + 1})" if exc.context_mark else None
        return [], [file_error(file, f"YAML syntax error: {problem}", hint, line, column)]
    except yaml.YAMLError as exc:
        return [], [file_error(file, f"YAML syntax error: {exc}")]
    sources: list[Source] = []
    errors = _Errors()
    for node in nodes:
        builder = _DocumentBuilder(file, errors)
        try:
            data = builder.value(node, ())
        except _TooManyNodes:
            errors.add(
                file_error(
                    file,
                    f"the document expands to more than {MAX_NODES} values",
                    "reduce the use of YAML aliases (*name)",
                )
            )
            continue
        except RecursionError:
            errors.add(file_error(file, "the document is nested too deeply to be read", _FLATTEN))
            continue
        sources.append(Source(file, data, builder.spans))
    return sources, errors.finish()


_FLATTEN = "a definition never needs this; flatten the structure"


def _line_and_column(text: str, position: int) -> tuple[int, int]:
    """The 1-based line and column of a character offset, counting breaks as PyYAML does."""
    line, start = 1, 0
    for match in _LINE_BREAK.finditer(text, 0, position):
        line, start = line + 1, match.end()
    return line, position - start + 1


class _Errors:
    """The problems of one file, keeping the first :data:`MAX_ERRORS` and counting the rest."""

    def __init__(self) -> None:
        self.kept: list[DefinitionError] = []
        self.dropped = 0
        self.first_dropped: DefinitionError | None = None

    def add(self, error: DefinitionError) -> None:
        if len(self.kept) < MAX_ERRORS:
            self.kept.append(error)
            return
        self.dropped += 1
        if self.first_dropped is None:
            self.first_dropped = error

    def finish(self) -> list[DefinitionError]:
        if self.first_dropped is None:
            return self.kept
        first = self.first_dropped
        more = f"...and {self.dropped} more error{'s' if self.dropped > 1 else ''}"
        return [
            *self.kept,
            DefinitionError(first.file, first.line, first.column, "", more, "fix these first"),
        ]


class _DocumentBuilder:
    """Walks one composed document, building plain data and the path -> span map."""

    def __init__(self, file: str, errors: _Errors):
        self.file = file
        self.spans: dict[Path, NodeSpan] = {}
        #: the paths in ``spans`` directly below each path, so a subtree is forgotten fast
        self._children: dict[Path, dict[Path, None]] = {}
        self.errors = errors
        self.count = 0
        #: collections being built, counting merges: aliases can nest past the composer's cap
        self._depth = 0
        self._constructor = SafeConstructor()

    def value(self, node: Node, path: Path, key_node: Node | None = None) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooManyNodes
        if path not in self.spans:
            self.spans[path] = _span(node, key_node)
            if path:
                self._children.setdefault(path[:-1], {})[path] = None
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if node.tag not in _COLLECTION_TAGS:
            self._fail(node, path, f"the tag {_shown_tag(node.tag)} is not allowed", "remove it")
            return None
        if not self._enter(node, path):
            return None
        try:
            if isinstance(node, SequenceNode):
                return [self.value(child, (*path, i)) for i, child in enumerate(node.value)]
            return self._mapping(node, path)
        finally:
            self._depth -= 1

    def _enter(self, node: Node, path: Path) -> bool:
        """One level deeper; False (with an error) past :data:`MAX_DEPTH`."""
        if self._depth >= MAX_DEPTH:
            self._fail(node, path, f"the values are nested more than {MAX_DEPTH} levels deep")
            return False
        self._depth += 1
        return True

    def _fail(self, node: Node, path: Path, message: str, hint: str | None = _FLATTEN) -> None:
        mark = node.start_mark
        self.errors.add(
            DefinitionError(self.file, mark.line + 1, mark.column + 1, _dotted(path), message, hint)
        )

    def _scalar(self, node: ScalarNode, path: Path) -> Any:
        if node.tag not in SafeConstructor.yaml_constructors:
            self._fail(node, path, f"the tag {_shown_tag(node.tag)} is not allowed", "remove it")
            return None
        try:
            if node.tag == _FLOAT_TAG:
                number = self._decimal(node)
                if not number.is_finite():
                    self._fail(node, path, "expected a finite number", "write a number like 1.5")
                    return None
                return number
            return self._constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, KeyError, AttributeError, TypeError, ArithmeticError):
            shown = node.value if len(node.value) <= 40 else node.value[:37] + "..."
            self._fail(
                node,
                path,
                f"cannot read {_shown_tag(node.tag)} {shown!r}",
                "correct the value or remove the tag",
            )
            return None

    def _decimal(self, node: ScalarNode) -> Decimal:
        # Decimal from the text as written: 0.1 stays exactly 0.1
        try:
            return Decimal(node.value.replace("_", ""))
        except InvalidOperation:
            return Decimal(str(self._constructor.construct_object(node)))

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
                self.errors.add(
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
            if isinstance(source, MappingNode) and self._enter(source, path):
                try:
                    values = self._mapping(source, path)
                finally:
                    self._depth -= 1
                for key, value in values.items():
                    result.setdefault(key, value)

    def _key(self, node: Node, path: Path) -> str | None:
        where = (node.start_mark.line + 1, node.start_mark.column + 1)
        if not isinstance(node, ScalarNode):
            self.errors.add(
                DefinitionError(self.file, *where, _dotted(path), "a key must be plain text")
            )
            return None
        if node.tag == _BOOL_TAG and node.value.lower() not in ("true", "false"):
            self.errors.add(
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
        """Drop the spans of ``path`` and everything below it (cost: the subtree's size)."""
        pending = [path]
        while pending:
            known = pending.pop()
            self.spans.pop(known, None)
            pending.extend(self._children.pop(known, ()))


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


def _shown_tag(tag: str) -> str:
    """``tag:yaml.org,2002:int`` -> ``!!int``, as it is written in YAML."""
    return "!!" + tag[len(_YAML_TAG_PREFIX) :] if tag.startswith(_YAML_TAG_PREFIX) else tag


def _dotted(path: Path, key: str | None = None) -> str:
    return format_path((*path, key) if key is not None else path)
