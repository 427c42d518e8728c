"""Semantic checks of rule documents, each problem located at its key.

- the rule key is an identifier, unique in the app; the form exists;
- the trigger fits the form: changed fields exist, a date trigger names a date field,
  a flow trigger needs the form's flow (and its node), cron text parses;
- expressions compile against the right names: the triggering record (``when``, ``set``,
  ``create.values``, ``upsert.values``; ``old.x`` on an ``updated`` trigger), the target
  form (``update``/``delete``: ``where`` and ``set``, with ``record.x`` for the
  triggering record and ``row.x`` for the ``for_each`` row), a sub-table row
  (``create.rows``);
- fields set exist and can be set (type fit of literal values), actions fit the trigger
  (no ``set`` on a deleted record).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from engine.definitions.checks.expressions import scope_for
from engine.definitions.checks.identifiers import identifier_error
from engine.definitions.checks.ledgers import check_ledger_action
from engine.definitions.context import AppContext, FormInfo
from engine.definitions.rule_schema import ACCOUNT_EXPRESSIONS, RECIPIENT_KINDS, ROBOT_KEYS
from engine.definitions.rules import (
    ACTION_KINDS,
    JOIN,
    LEDGER_ACTIONS,
    action_kind,
    demangle,
    mangle,
    mangled,
    trigger_kind,
)
from engine.definitions.source import Path, Source
from engine.errors import DefinitionError, ExpressionError

#: field types a rule cannot set (computed, numbered, or files)
UNSETTABLE = frozenset({"formula", "serial", "attachment", "image", "signature", "subtable"})
NUMBER_TYPES = frozenset({"number", "money", "percent"})
TEXT_TYPES = frozenset(
    {"text", "textarea", "richtext", "select", "phone", "email", "uscc", "address"}
)
DATE_TYPES = frozenset({"date", "datetime"})
#: system columns holding a login (a notify may go to the user they name)
USER_COLUMNS = ("created_by", "updated_by")
#: cron fields: (name, lowest, highest)
CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31), ("month", 1, 12))
CRON_WEEKDAY = ("weekday", 0, 7)
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _hint(word: Any, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(str(word), sorted(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else None


def cron_error(text: str) -> str | None:
    """What is wrong with a five-field cron text, or None."""
    parts = text.split()
    if len(parts) != 5:
        return f"a cron text has 5 fields (minute hour day month weekday), not {len(parts)}"
    for part, (name, low, high) in zip(parts, (*CRON_FIELDS, CRON_WEEKDAY), strict=True):
        names = _MONTHS if name == "month" else _WEEKDAYS if name == "weekday" else ()
        for item in part.split(","):
            problem = _cron_item(item, low, high, names)
            if problem:
                return f"cron {name} {item!r}: {problem}"
    return None


def _cron_item(item: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    body, _, step = item.partition("/")
    if step and (not step.isdigit() or int(step) < 1):
        return "a step is a whole number of 1 or more"
    if body == "*":
        return None
    ends = body.split("-")
    if len(ends) > 2 or not all(ends):
        return f"use a number from {low} to {high}, a range a-b, a list a,b or */n"
    for end in ends:
        if end.lower() in names:
            continue
        if not end.isdigit() or not low <= int(end) <= high:
            return f"use a number from {low} to {high}"
    return None


def check_rules(app: AppContext) -> Iterator[DefinitionError]:
    """Every rule document of the app."""
    return check_form_documents(
        app, "rule", lambda source, form: RuleCheck(source, form, app).run()
    )


def check_form_documents(
    app: AppContext,
    kind: str,
    check: Callable[[Source, FormInfo], Iterator[DefinitionError]],
) -> Iterator[DefinitionError]:
    """The documents of ``kind`` (rules, machines) that name a form: each key an
    identifier, unique in the app; the form one of the app's; then ``check`` of each."""
    seen: dict[str, Source] = {}
    for source in app.documents.get(kind, []):
        if not isinstance(source.data, dict):
            continue
        key = source.get((kind,))
        if isinstance(key, str):
            problem = identifier_error(source, (kind,), key, kind, 60)
            if problem:
                yield problem
            elif key in seen:
                yield source.fail(
                    (kind,),
                    f"{kind} {key!r} is defined twice (also in {seen[key].file})",
                    "rename one",
                )
            seen.setdefault(key, source)
        form_key = source.get(("form",))
        if not isinstance(form_key, str):
            continue
        form = app.forms.get(form_key)
        if form is None:
            yield source.fail(
                ("form",), f"the app has no form {form_key!r}", _hint(form_key, app.forms)
            )
            continue
        yield from check(source, form)


class RuleCheck:
    """The checks of one rule document against its form and app."""

    def __init__(self, source: Source, form: FormInfo, app: AppContext):
        self.source, self.form, self.app = source, form, app
        self.trigger = trigger_kind(source.get(("trigger",)))
        self.types = {key: site.type for key, site in form.top.items()}

    def run(self) -> Iterator[DefinitionError]:
        yield from self._trigger()
        when = self.source.get(("when",))
        if isinstance(when, str):
            yield from self._compile(("when",), when, self._own_scope())
        actions = self.source.get(("actions",))
        if isinstance(actions, list):
            for i, item in enumerate(actions):
                kind = action_kind(item)
                if kind is None and isinstance(item, dict):
                    yield self.source.fail(
                        ("actions", i),
                        f"unknown action {', '.join(map(str, item)) or '{}'}",
                        "one of: " + ", ".join(ACTION_KINDS),
                    )
                if kind in LEDGER_ACTIONS:
                    yield from check_ledger_action(self, ("actions", i, kind), kind, item[kind])
                elif kind is not None:
                    yield from getattr(self, f"_{kind}")(("actions", i, kind), item[kind])

    # -- the trigger ----------------------------------------------------------------------
    def _trigger(self) -> Iterator[DefinitionError]:
        value = self.source.get(("trigger",))
        kind = self.trigger
        if kind is None:
            if value is not None:
                yield self.source.fail(
                    ("trigger",),
                    "unknown trigger",
                    "one of created, updated, deleted, {flow: approved}, {schedule: {cron}}, "
                    "{before|after: {field, days}}, {manual: {label}}",
                )
            return
        if not isinstance(value, dict):
            return
        body = value.get(kind)
        if kind == "updated" and isinstance(body, dict):
            for i, key in enumerate(body.get("fields") or ()):
                if key not in self.types:
                    yield self.source.fail(
                        ("trigger", "updated", "fields", i),
                        f"form {self.form.key!r} has no field {key!r}",
                        _hint(key, self.types),
                    )
        elif kind == "flow":
            yield from self._flow_trigger(value)
        elif kind == "schedule" and isinstance(body, dict):
            cron = body.get("cron")
            problem = cron_error(cron) if isinstance(cron, str) else None
            if problem:
                yield self.source.fail(
                    ("trigger", "schedule", "cron"), problem, "e.g. '0 9 * * *' (09:00 daily)"
                )
        elif kind in ("before", "after") and isinstance(body, dict):
            key = body.get("field")
            if isinstance(key, str) and key not in self.types:
                yield self.source.fail(
                    ("trigger", kind, "field"),
                    f"form {self.form.key!r} has no field {key!r}",
                    _hint(key, self.types),
                )
            elif isinstance(key, str) and self.types[key] not in DATE_TYPES:
                yield self.source.fail(
                    ("trigger", kind, "field"),
                    f"field {key!r} is a {self.types[key]} field, not a date",
                    "name a date or datetime field",
                )
            elif (
                isinstance(key, str) and self.form.source.get(("fields", key, "index")) is not True
            ):
                # the scheduler's sweep finds due records by a range on this column
                yield self.source.fail(
                    ("trigger", kind, "field"),
                    f"field {key!r} needs an index for a date trigger",
                    f"add `index: true` to field {key!r} of form {self.form.key!r} "
                    "(the scheduler finds due records with it, never by scanning)",
                )
            elif body.get("at") is not None and self.types.get(key) != "date":
                yield self.source.fail(
                    ("trigger", kind, "at"),
                    "at: is the time of day of a date field; this field has its own time",
                    "remove at:, or use hours:",
                )

    def _flow_trigger(self, value: dict[str, Any]) -> Iterator[DefinitionError]:
        flows = [
            f
            for f in self.app.documents.get("flow", [])
            if isinstance(f.data, dict) and f.data.get("form") == self.form.key
        ]
        if not flows:
            yield self.source.fail(
                ("trigger", "flow"),
                f"form {self.form.key!r} has no approval flow",
                "add a flows/*.yaml for the form, or use a record trigger",
            )
            return
        node = value.get("node")
        if node is None:
            return
        if value.get("flow") not in ("node_reached", "node_timed_out"):
            yield self.source.fail(
                ("trigger", "node"),
                "a node is named only for node_reached or node_timed_out",
                "remove node:",
            )
            return
        keys = set(_node_keys(flows[0].data.get("nodes")))
        if node not in keys:
            yield self.source.fail(
                ("trigger", "node"),
                f"the flow of {self.form.key!r} has no node {node!r}",
                _hint(node, keys),
            )

    # -- scopes ---------------------------------------------------------------------------
    def _own_scope(self, extra: frozenset[str] = frozenset()) -> Any:
        """The triggering record's names, plus ``old.x`` on an updated trigger."""
        base = scope_for(self.form, self.app)
        names = set(base.fields) | set(extra)
        if self.trigger == "updated":
            names |= {mangled("old", k) for k in base.fields}
        return _with(base, names)

    def _target_scope(self, target: FormInfo, for_each: Any) -> Any:
        """A target form's names, ``record.x`` for the triggering record, ``row.x``."""
        base = scope_for(target, self.app)
        own = scope_for(self.form, self.app)
        names = set(base.fields) | {mangled("record", k) for k in own.fields}
        site = self.form.top.get(for_each) if isinstance(for_each, str) else None
        if site is not None and site.type == "subtable":
            names |= {mangled("row", k) for k in self.form.columns(site)}
        return _with(base, names)

    def _compile(self, path: Path, text: str, scope: Any) -> Iterator[DefinitionError]:
        from engine.expressions import compile_expression

        try:
            compile_expression(mangle(text), scope)
        except ExpressionError as exc:
            yield self.source.fail(
                path,
                demangle(exc.message),
                demangle(exc.hint) if exc.hint else _prefix_hint(text),
                text_column=exc.column,
            )

    def _target(self, path: Path, body: Any) -> FormInfo | None:
        key = body.get("form") if isinstance(body, dict) else None
        return self.app.forms.get(key) if isinstance(key, str) else None

    def _missing_target(self, path: Path, body: Any) -> Iterator[DefinitionError]:
        key = body.get("form") if isinstance(body, dict) else None
        if isinstance(key, str) and key not in self.app.forms:
            yield self.source.fail(
                (*path, "form"), f"the app has no form {key!r}", _hint(key, self.app.forms)
            )

    def _fields(
        self, path: Path, mapping: Any, form: FormInfo, scope: Any, types: dict[str, Any]
    ) -> Iterator[DefinitionError]:
        if not isinstance(mapping, dict):
            return
        for key, text in mapping.items():
            if key not in types:
                yield self.source.fail(
                    (*path, key),
                    f"form {form.key!r} has no field {key!r}",
                    _hint(key, types),
                    at_key=True,
                )
                continue
            if types[key] in UNSETTABLE:
                yield self.source.fail(
                    (*path, key),
                    f"field {key!r} is a {types[key]} field: a rule cannot set it",
                    at_key=True,
                )
                continue
            if isinstance(text, str):
                problems = list(self._compile((*path, key), text, scope))
                yield from problems
                if not problems:
                    problem = _type_fit(text, types[key])
                    if problem:
                        yield self.source.fail((*path, key), problem)

    # -- actions --------------------------------------------------------------------------
    def _set(self, path: Path, body: Any) -> Iterator[DefinitionError]:
        if self.trigger == "deleted":
            yield self.source.fail(
                path,
                "a deleted record cannot be set",
                "use update on another form, or trigger on updated",
                at_key=True,
            )
            return
        yield from self._fields(path, body, self.form, self._own_scope(), self.types)

    def _create(self, path: Path, body: Any) -> Iterator[DefinitionError]:
        yield from self._missing_target(path, body)
        target = self._target(path, body)
        if target is None or not isinstance(body, dict):
            return
        types = {k: s.type for k, s in target.top.items()}
        yield from self._fields(
            (*path, "values"), body.get("values"), target, self._own_scope(), types
        )
        rows = body.get("rows")
        if not isinstance(rows, dict):
            return
        for key, mapping in rows.items():
            at = (*path, "rows", key)
            site = target.top.get(key)
            if site is None or site.type != "subtable":
                yield self.source.fail(
                    at, f"form {target.key!r} has no sub-table {key!r}", at_key=True
                )
                continue
            if not isinstance(mapping, dict):
                continue
            source_key = mapping.get("from")
            own = self.form.top.get(source_key) if isinstance(source_key, str) else None
            if own is None or own.type != "subtable":
                yield self.source.fail(
                    (*at, "from"),
                    f"form {self.form.key!r} has no sub-table {source_key!r}",
                    _hint(source_key, [k for k, t in self.types.items() if t == "subtable"]),
                )
                continue
            row_scope = scope_for(self.form, self.app, row_of=own)
            columns = {k: s.type for k, s in target.columns(site).items()}
            yield from self._fields(
                (*at, "values"), mapping.get("values"), target, row_scope, columns
            )

    def _update(self, path: Path, body: Any) -> Iterator[DefinitionError]:
        yield from self._filtered(path, body, "set")

    def _delete(self, path: Path, body: Any) -> Iterator[DefinitionError]:
        yield from self._filtered(path, body, None)

    def _filtered(self, path: Path, body: Any, set_key: str | None) -> Iterator[DefinitionError]:
        yield from self._missing_target(path, body)
        if not isinstance(body, dict):
            return
        for_each = body.get("for_each")
        if for_each is not None and (
            for_each not in self.form.top or self.types.get(for_each) != "subtable"
        ):
            yield self.source.fail(
                (*path, "for_each"),
                f"form {self.form.key!r} has no sub-table {for_each!r}",
                _hint(for_each, [k for k, t in self.types.items() if t == "subtable"]),
            )
        target = self._target(path, body)
        if target is None:
            return
        scope = self._target_scope(target, for_each)
        where = body.get("where")
        if isinstance(where, str):
            yield from self._compile((*path, "where"), where, scope)
        if set_key:
            types = {k: s.type for k, s in target.top.items()}
            yield from self._fields((*path, set_key), body.get(set_key), target, scope, types)

    def _upsert(self, path: Path, body: Any) -> Iterator[DefinitionError]:
        yield from self._missing_target(path, body)
        target = self._target(path, body)
        if target is None or not isinstance(body, dict):
            return
        types = {k: s.type for k, s in target.top.items()}
        values = body.get("values") if isinstance(body.get("values"), dict) else {}
        for i, key in enumerate(body.get("match") or ()):
            if key not in values:
                yield self.source.fail(
                    (*path, "match", i),
                    f"match field {key!r} has no value in values",
                    f"add {key}: <expression> to values",
                )
        yield from self._fields((*path, "values"), values, target, self._own_scope(), types)

    def _start_flow(self, path: Path, body: Any) -> Iterator[DefinitionError]:
        if self.trigger == "deleted":
            yield self.source.fail(path, "a deleted record cannot start a flow", at_key=True)
        has_flow = any(
            isinstance(f.data, dict) and f.data.get("form") == self.form.key
            for f in self.app.documents.get("flow", [])
        )
        if not has_flow:
            yield self.source.fail(
                path, f"form {self.form.key!r} has no approval flow", at_key=True
            )

    def _notify(self, path: Path, body: Any) -> Iterator[DefinitionError]:
        """Exactly one of channel (a robot), to (people) or digest; robot settings only
        with a channel, ``via`` only without; each ``to:`` item names one recipient kind,
        and a ``field`` item a user field of the record (or created_by / updated_by)."""
        if not isinstance(body, dict):
            return
        chosen = [key for key in ("channel", "to", "digest") if key in body]
        if len(chosen) != 1:
            yield self.source.fail(
                path,
                "a notify needs exactly one of channel, to or digest"
                + (f", not {' and '.join(chosen)}" if chosen else ""),
                "channel: dingtalk (a group robot), to: [{role: ...}] (people) or "
                "digest: pending_approvals",
                at_key=True,
            )
            return
        if chosen == ["channel"]:
            if "via" in body:
                yield self.source.fail(
                    (*path, "via"),
                    "via is for messages to people (to: / digest:), not a robot",
                    "remove via:",
                    at_key=True,
                )
            if "url" not in body:
                yield self.source.fail(
                    path, f"channel {body['channel']} needs the robot's url", at_key=True
                )
            return
        if chosen == ["digest"] and (self.trigger != "schedule" or "when" in self.source.data):
            # a digest is about everyone's open tasks: once per schedule, not per record
            yield self.source.fail(
                (*path, "digest"),
                "a digest goes with a schedule trigger and no when: (one run, on no record)",
                "trigger: {schedule: {cron: '0 9 * * 1-5'}}",
                at_key=True,
            )
        for key in ROBOT_KEYS:
            if key in body:
                yield self.source.fail(
                    (*path, key),
                    f"{key} is a setting of a group robot (channel:), not of a message to people",
                    "remove it, or send to a robot with channel:",
                    at_key=True,
                )
        targets = body.get("to")
        if isinstance(targets, dict):
            yield from self._recipient((*path, "to"), targets)
        elif isinstance(targets, list):
            for i, item in enumerate(targets):
                yield from self._recipient((*path, "to", i), item)

    def _recipient(self, path: Path, item: Any) -> Iterator[DefinitionError]:
        if not isinstance(item, dict):
            return
        kinds = [key for key in item if key in RECIPIENT_KINDS]
        if not kinds:
            yield self.source.fail(
                path,
                f"unknown recipient {', '.join(map(str, item)) or '{}'}",
                "one of {role: code}, {user: login}, {department: code}, {field: key}",
            )
            return
        key = item.get("field")
        if kinds != ["field"] or not isinstance(key, str) or key in USER_COLUMNS:
            return
        if key not in self.types:
            yield self.source.fail(
                (*path, "field"),
                f"form {self.form.key!r} has no field {key!r}",
                _hint(key, [*self.types, *USER_COLUMNS]),
            )
        elif self.types[key] != "user":
            yield self.source.fail(
                (*path, "field"),
                f"field {key!r} is a {self.types[key]} field, not a user field",
                "name a field of type user, or created_by",
            )

    def _webhook(self, path: Path, body: Any) -> Iterator[DefinitionError]:
        return iter(())  # the shape is the schema's; delivery checks the rest

    def _create_user(self, path: Path, body: Any) -> Iterator[DefinitionError]:
        """The account's values compile over the record (plain names or ``record.x``);
        an external user needs a dealer."""
        if not isinstance(body, dict):
            return
        base = scope_for(self.form, self.app)
        scope = self._own_scope(frozenset(mangled("record", k) for k in base.fields))
        for key in ACCOUNT_EXPRESSIONS:
            text = body.get(key)
            if isinstance(text, str):
                yield from self._compile((*path, key), text, scope)
        if body.get("kind") == "external" and "dealer" not in body:
            yield self.source.fail(
                (*path, "kind"),
                "an external user belongs to a dealer",
                "add dealer: record.<dealer code field>",
            )


def _with(base: Any, names: set[str]) -> Any:
    from engine.expressions import ExpressionScope

    return ExpressionScope(frozenset(names), base.subtables, base.relation_targets)


def _prefix_hint(text: str) -> str | None:
    if JOIN in mangle(text):
        return "old.x (updated triggers), record.x and row.x (update/delete actions)"
    return None


def _type_fit(text: str, field_type: Any) -> str | None:
    """A literal that cannot go into a field of ``field_type`` (other values: at run time)."""
    from engine.expressions import compile_expression

    try:
        op = compile_expression(mangle(text), None).to_json()["tree"]["op"]
    except ExpressionError:
        return None
    if op == "text" and field_type in NUMBER_TYPES | {"boolean"}:
        return f"a text value cannot go into a {field_type} field"
    if op == "number" and field_type in TEXT_TYPES | DATE_TYPES | {"boolean"}:
        return f"a number cannot go into a {field_type} field"
    return None


def _node_keys(nodes: Any) -> Iterator[str]:
    if not isinstance(nodes, list):
        return
    for node in nodes:
        if not isinstance(node, dict):
            continue
        for kind in ("approval", "handler", "cc", "action", "end"):
            if isinstance(node.get(kind), str):
                yield node[kind]
        if isinstance(node.get("key"), str):
            yield node["key"]
        for kind in ("branches", "inclusive", "parallel"):
            for branch in node.get(kind) or ():
                if isinstance(branch, dict):
                    yield from _node_keys(branch.get("nodes"))
