"""Semantic checks of flow documents, each problem located at its key.

- the flow names a form of the app, once (one flow per form), and its key is unique;
- node keys are identifiers and unique in the flow; a node has exactly one kind;
- approval and handler nodes have an approver rule; roles exist in the app's roles;
  fields named by sources, field permissions and timeouts exist and have a fitting type;
  a ``path`` walks relations then the organisation to people;
- conditions, ``set`` values and ``expr`` sources compile against the form;
- no unreachable node (after an ``end``, or a branch after ``otherwise``);
- a vote needs no more approvals than its named users can give;
- send-back targets are earlier nodes; durations parse.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from engine.definitions.checks.aggregates import check_aggregate_calls, declared_aggregates
from engine.definitions.checks.expressions import scope_for
from engine.definitions.checks.identifiers import identifier_error
from engine.definitions.context import VISIBLE_SYSTEM_COLUMNS, AppContext, FormInfo
from engine.definitions.durations import parse_duration
from engine.definitions.flows import (
    GATEWAYS,
    NODE_KINDS,
    SEND_BACK_TARGETS,
    SOURCE_KINDS,
    TASK_NODES,
    branch_nodes,
    gateway_keys,
    node_kind,
)
from engine.definitions.source import Path, Source
from engine.errors import DefinitionError, ExpressionError

MAX_NODE_KEY = 40

#: where a path may go from each organisation kind, and what each step reaches
ORG_STEPS: dict[str, dict[str, str]] = {
    "dealer": {
        "region": "region",
        "parent": "dealer",
        "sales_rep": "people",
        "users": "people",
    },
    "region": {"parent": "region", "manager": "people"},
    "department": {"parent": "department", "manager": "people"},
    "user": {"manager": "people", "department": "department", "region": "region"},
}


def _hint(word: Any, choices: Any) -> str | None:
    close = difflib.get_close_matches(str(word), sorted(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else None


def check_flows(app: AppContext) -> Iterator[DefinitionError]:
    """Every flow document of the app."""
    seen_keys: dict[str, Source] = {}
    seen_forms: dict[str, str] = {}
    for source in app.documents.get("flow", []):
        if not isinstance(source.data, dict):
            continue
        key, form_key = source.get(("flow",)), source.get(("form",))
        if isinstance(key, str):
            problem = identifier_error(source, ("flow",), key, "flow", 50)
            if problem:
                yield problem
            if key in seen_keys:
                yield source.fail(("flow",), f"flow {key!r} is defined twice", "rename one")
            seen_keys.setdefault(key, source)
        if not isinstance(form_key, str):
            continue
        form = app.forms.get(form_key)
        if form is None:
            yield source.fail(
                ("form",), f"the app has no form {form_key!r}", _hint(form_key, app.forms)
            )
            continue
        if form_key in seen_forms:
            yield source.fail(
                ("form",),
                f"form {form_key!r} already has the flow {seen_forms[form_key]!r}",
                "a form has one flow: put the routes in one flow with branches",
            )
        seen_forms.setdefault(form_key, str(key))
        yield from FlowCheck(source, form, app).run()


class FlowCheck:
    """The checks of one flow document against its form and app."""

    def __init__(self, source: Source, form: FormInfo, app: AppContext):
        self.source, self.form, self.app = source, form, app
        roles = app.app.get(("roles",)) if app.app is not None else None
        self.roles = set(roles) if isinstance(roles, dict) else set()
        self.types = {key: site.type for key, site in form.top.items()}
        self.keys: dict[str, Path] = {}
        #: node keys in document (pre-)order, for "earlier node" checks
        self.order: list[str] = []
        self.gateways = gateway_keys(source.get(("nodes",)))

    def run(self) -> Iterator[DefinitionError]:
        nodes = self.source.get(("nodes",))
        if not isinstance(nodes, list):
            return
        yield from self._sequence(nodes, ("nodes",), ())
        yield from self._send_back(("send_back",), None)

    def _sequence(
        self, nodes: list[Any], path: Path, index: tuple[int, ...]
    ) -> Iterator[DefinitionError]:
        ended: str | None = None
        for i, item in enumerate(nodes):
            at = (*path, i)
            if not isinstance(item, dict):
                continue
            kind = node_kind(item)
            if kind is None:
                found = [k for k in NODE_KINDS if k in item]
                yield self.source.fail(
                    at,
                    "a node has exactly one kind"
                    + (f", this one has {', '.join(found)}" if found else ""),
                    "start the node with one of: " + ", ".join(NODE_KINDS),
                )
                continue
            key = self.gateways.get((*index, i)) if kind in GATEWAYS else item.get(kind)
            key_path = (*at, "key") if kind in GATEWAYS and "key" in item else (*at, kind)
            if ended is not None:
                yield self.source.fail(
                    (*at, kind) if kind not in GATEWAYS else at,
                    f"node {key!r} can never run: it comes after the end node {ended!r}",
                    "move it before the end node or remove it",
                )
            if isinstance(key, str):
                yield from self._key(key, key_path)
            if kind == "end":
                ended = str(key)
            if kind in GATEWAYS:
                yield from self._gateway(item, kind, at, (*index, i))
            elif kind in TASK_NODES:
                yield from self._task_node(item, at, str(key))
            elif kind == "cc":
                if "to" not in item:
                    yield self.source.fail(
                        (*at, kind), f"cc node {key!r} names no one", "add to: {role: ...}"
                    )
                yield from self._sources(item.get("to"), (*at, "to"))
            elif kind == "action":
                yield from self._action(item, at)

    def _key(self, key: str, path: Path) -> Iterator[DefinitionError]:
        problem = identifier_error(self.source, path, key, "node", MAX_NODE_KEY)
        if problem:
            yield problem
        if key in self.keys:
            yield self.source.fail(
                path, f"node key {key!r} is used twice", "node keys are unique in a flow"
            )
        else:
            self.keys[key] = path
            self.order.append(key)

    def _gateway(
        self, item: dict, kind: str, at: Path, index: tuple[int, ...]
    ) -> Iterator[DefinitionError]:
        branches = item.get(kind)
        if not isinstance(branches, list):
            return
        otherwise_seen = False
        for b, branch in enumerate(branches):
            bpath = (*at, kind, b)
            if not isinstance(branch, dict):
                continue
            is_otherwise = "otherwise" in branch
            if otherwise_seen and kind in ("branches", "inclusive"):
                yield self.source.fail(
                    bpath,
                    "this branch can never run: an earlier branch is 'otherwise'",
                    "put otherwise last",
                )
            if is_otherwise and "when" in branch:
                yield self.source.fail(
                    (*bpath, "when"), "an otherwise branch has no condition", "remove when:"
                )
            if kind == "parallel" and ("when" in branch or is_otherwise):
                yield self.source.fail(
                    bpath,
                    "parallel branches all run: they have no condition",
                    "use inclusive: for conditions",
                )
            if kind != "parallel" and not is_otherwise and "when" not in branch:
                yield self.source.fail(
                    bpath, "a branch needs when: (a condition) or otherwise:", None
                )
            if "when" in branch:
                yield from self._expression((*bpath, "when"))
            if "nodes" in branch and is_otherwise:
                yield self.source.fail(
                    (*bpath, "nodes"), "write the otherwise branch's nodes under otherwise:", None
                )
            otherwise_seen = otherwise_seen or is_otherwise
            nested = branch_nodes(branch)
            if isinstance(nested, list):
                where = (*bpath, "otherwise" if is_otherwise else "nodes")
                yield from self._sequence(nested, where, (*index, b))
            elif not is_otherwise:
                yield self.source.fail(bpath, "a branch needs nodes:", None)

    def _task_node(self, item: dict, at: Path, key: str) -> Iterator[DefinitionError]:
        kind = node_kind(item)
        if "approvers" not in item:
            yield self.source.fail(
                (*at, kind),
                f"{kind} node {key!r} has no approver rule",
                "add approvers: e.g. {manager: 1} or {role: ...}",
            )
        sources = item.get("approvers")
        yield from self._sources(sources, (*at, "approvers"))
        mode = item.get("mode")
        vote = item.get("vote")
        if mode == "vote" and not isinstance(vote, dict):
            yield self.source.fail(
                (*at, "mode"), "a vote node needs vote: {count: N} or {percent: P}", None
            )
        if vote is not None and mode != "vote":
            yield self.source.fail(
                (*at, "vote"), "vote: only applies to mode: vote", "add mode: vote"
            )
        if isinstance(vote, dict) and isinstance(vote.get("count"), int):
            possible = _static_count(sources)
            if possible is not None and vote["count"] > possible:
                yield self.source.fail(
                    (*at, "vote", "count"),
                    f"the vote needs {vote['count']} approvals but only {possible} approvers can be named",
                    f"use a count of at most {possible}",
                )
        if kind == "handler" and item.get("reject") is not None:
            yield self.source.fail((*at, "reject"), "handlers complete, they do not reject", None)
        empty = item.get("empty")
        if isinstance(empty, dict):
            yield from self._sources(empty.get("route"), (*at, "empty", "route"))
        yield from self._field_access(item.get("fields"), (*at, "fields"))
        yield from self._timeout(item.get("timeout"), (*at, "timeout"))
        yield from self._send_back((*at, "send_back"), key)

    def _sources(self, value: Any, path: Path) -> Iterator[DefinitionError]:
        items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
        for i, item in enumerate(items):
            at = (*path, i) if isinstance(value, list) else path
            if not isinstance(item, dict):
                continue
            kind = next((k for k in (*SOURCE_KINDS, "users") if k in item), None)
            found = item.get(kind) if kind else None
            if kind == "role" and isinstance(found, str) and found not in self.roles:
                yield self.source.fail(
                    (*at, "role"),
                    f"role {found!r} is not declared in the app's roles",
                    _hint(found, self.roles) or "add it under roles: in app.yaml",
                )
            if kind == "field" and isinstance(found, str):
                yield from self._typed_field((*at, "field"), found, ("user", "department"))
            if kind == "dealer_users" and isinstance(found, str):
                yield from self._typed_field((*at, "dealer_users"), found, ("dealer",))
            if "of" in item and isinstance(item["of"], str):
                yield from self._typed_field((*at, "of"), item["of"], ("user",))
            if kind == "path" and isinstance(found, str):
                yield from self._path((*at, "path"), found)
            if kind == "expr" and isinstance(found, str):
                yield from self._expression((*at, "expr"))
            if kind == "chosen" and isinstance(found, dict):
                yield from self._sources(found.get("among"), (*at, "chosen", "among"))

    def _typed_field(
        self, path: Path, key: str, types: tuple[str, ...]
    ) -> Iterator[DefinitionError]:
        if key not in self.types:
            yield self.source.fail(path, f"the form has no field {key!r}", _hint(key, self.types))
        elif self.types[key] not in types:
            yield self.source.fail(
                path,
                f"field {key!r} is a {self.types[key]} field; this needs a {' or '.join(types)} field",
                None,
            )

    def _path(self, path: Path, text: str) -> Iterator[DefinitionError]:
        """``dealer.region.manager``: fields and relations of forms, then organisation steps."""
        steps = text.split(".")
        form: FormInfo | None = self.form
        kind: str | None = None
        for number, step in enumerate(steps):
            last = number == len(steps) - 1
            if form is not None:
                site = form.top.get(step)
                if site is None:
                    yield self.source.fail(
                        path,
                        f"{text}: form {form.key!r} has no field {step!r}",
                        _hint(step, form.top),
                    )
                    return
                if site.type == "relation":
                    target = site.definition.get("to")
                    form = self.app.forms.get(target) if isinstance(target, str) else None
                    if form is None:
                        return  # the relation's own check reports the missing form
                    continue
                if site.type in ("user", "department", "region", "dealer"):
                    form, kind = None, site.type
                    if last and kind == "user":
                        return
                    continue
                yield self.source.fail(
                    path,
                    f"{text}: {step!r} is a {site.type} field; a path goes through relations and user, department, region or dealer fields",
                    None,
                )
                return
            reach = ORG_STEPS.get(kind or "", {})
            if step not in reach:
                yield self.source.fail(
                    path, f"{text}: a {kind} has no {step!r}", "one of: " + ", ".join(reach)
                )
                return
            kind = reach[step]
            if kind == "people" and not last:
                yield self.source.fail(
                    path, f"{text}: {step!r} gives people; nothing can follow it", None
                )
                return
        if kind != "people" and kind != "user":
            hint = "end with manager, users or sales_rep"
            yield self.source.fail(path, f"{text} does not lead to people", hint)

    def _expression(self, path: Path) -> Iterator[DefinitionError]:
        from engine.expressions import compile_expression

        text = self.source.get(path)
        if not isinstance(text, str):
            return
        scope = scope_for(self.form, self.app)
        try:
            compile_expression(text, scope)
        except ExpressionError as error:
            yield self.source.fail(path, error.message, error.hint, text_column=error.column)
            return
        # a condition may read the form's declared aggregates (docs/aggregates.md)
        yield from check_aggregate_calls(self.source, path, scope, declared_aggregates(self.form))

    def _field_access(self, value: Any, path: Path) -> Iterator[DefinitionError]:
        if not isinstance(value, dict):
            return
        for access, keys in value.items():
            for i, key in enumerate(keys if isinstance(keys, list) else []):
                head, _, column = str(key).partition(".")
                if head not in self.types:
                    yield self.source.fail(
                        (*path, access, i),
                        f"the form has no field {head!r}",
                        _hint(head, self.types),
                    )
                elif column and column not in self.form.columns(self.form.top[head]):
                    yield self.source.fail(
                        (*path, access, i), f"sub-table {head!r} has no column {column!r}", None
                    )

    def _timeout(self, value: Any, path: Path) -> Iterator[DefinitionError]:
        if not isinstance(value, dict):
            return
        if ("after" in value) == ("field" in value):
            yield self.source.fail(
                path,
                "a timeout needs exactly one of after: (a duration) or field: (a date field)",
                None,
            )
        for key in ("after", "remind_every"):
            if isinstance(value.get(key), str):
                try:
                    parse_duration(value[key])
                except ValueError as error:
                    yield self.source.fail((*path, key), str(error), None)
        if isinstance(value.get("field"), str):
            yield from self._typed_field((*path, "field"), value["field"], ("date", "datetime"))
        then = value.get("then")
        if isinstance(then, dict):
            yield from self._sources(then.get("transfer"), (*path, "then", "transfer"))

    def _send_back(self, path: Path, node: str | None) -> Iterator[DefinitionError]:
        value = self.source.get(path)
        if not isinstance(value, dict):
            return
        targets = value.get("to")
        items = targets if isinstance(targets, list) else [targets] if targets is not None else []
        for i, target in enumerate(items):
            at = (*path, "to", i) if isinstance(targets, list) else (*path, "to")
            if target in SEND_BACK_TARGETS or not isinstance(target, str):
                continue
            if target not in self.keys:
                yield self.source.fail(
                    at,
                    f"no node {target!r} to send back to",
                    _hint(target, self.keys) or "previous, start, any or an earlier node key",
                )
            elif (
                node is not None
                and node in self.keys
                and self.order.index(target) >= self.order.index(node)
            ):
                yield self.source.fail(
                    at,
                    f"node {target!r} does not come before {node!r}",
                    "send back only to earlier nodes",
                )

    def _action(self, item: dict, at: Path) -> Iterator[DefinitionError]:
        values = item.get("set")
        if isinstance(values, dict):
            for field_key in values:
                if field_key not in self.types:
                    yield self.source.fail(
                        (*at, "set", field_key),
                        f"the form has no field {field_key!r}",
                        _hint(field_key, self.types),
                        at_key=True,
                    )
                elif field_key in VISIBLE_SYSTEM_COLUMNS or self.types[field_key] in (
                    "formula",
                    "serial",
                    "subtable",
                ):
                    yield self.source.fail(
                        (*at, "set", field_key),
                        f"field {field_key!r} cannot be set by an action",
                        None,
                        at_key=True,
                    )
                yield from self._expression((*at, "set", field_key))
        if "set" not in item and "emit" not in item:
            yield self.source.fail(
                at, "an action node sets fields (set:) or emits an event (emit:)", None
            )


def _static_count(value: Any) -> int | None:
    """How many approvers a source list names, when it names only users; else None."""
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    count = 0
    for item in items:
        if not isinstance(item, dict):
            return None
        if "user" in item:
            count += len(item["user"]) if isinstance(item["user"], list) else 1
        elif "users" in item and isinstance(item["users"], list):
            count += len(item["users"])
        else:
            return None
    return count
