"""compile_form: turn a FormDefinition into a reusable :class:`FormPlan`, once per version.

Compiled forms are cached by ``content_hash`` (bounded, least recently used dropped
first). Hashing a form serialises it, so a second, identity-keyed layer avoids even that
on the hot path when the caller passes the same definition object again.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from engine.definitions.model import FieldDefinition, FormDefinition, Validation
from engine.definitions.naming import SYSTEM_COLUMNS
from engine.errors import DefinitionError, DefinitionErrors, ExpressionError
from engine.expressions import CompiledExpression, ExpressionScope, compile_expression
from engine.fields import registry
from engine.runtime.forms.plan import (
    CHOICES,
    FIELD_EXPRESSIONS,
    FieldPlan,
    FormPlan,
    ValidationPlan,
)
from engine.runtime.forms.title import compile_template, first_text_field

if TYPE_CHECKING:
    from engine.runtime.forms.compiled import CompiledForm

CACHE_SIZE = 256

#: system columns an expression may read on the record (``status == 'approved'``)
RECORD_NAMES = SYSTEM_COLUMNS - {"parent_id", "row_index"}

_by_hash: OrderedDict[str, CompiledForm] = OrderedDict()
_by_identity: dict[int, tuple[weakref.ref[FormDefinition], CompiledForm]] = {}
_lock = threading.Lock()


def compile_form(form: FormDefinition) -> CompiledForm:
    """The compiled form for this definition version (compiled once, then cached).

    Raises :class:`DefinitionErrors` when an expression or the title does not compile, or
    formulas depend on each other in a cycle (the loader normally reports these first).
    """
    from engine.runtime.forms.compiled import CompiledForm

    hit = _by_identity.get(id(form))
    if hit is not None and hit[0]() is form:
        return hit[1]
    digest = form.content_hash
    with _lock:
        compiled = _by_hash.get(digest)
        if compiled is not None:
            _by_hash.move_to_end(digest)
    if compiled is None:
        compiled = CompiledForm(build_plan(form))
        with _lock:
            _by_hash[digest] = compiled
            while len(_by_hash) > CACHE_SIZE:
                _by_hash.popitem(last=False)
    with _lock:
        if len(_by_identity) >= CACHE_SIZE:
            _by_identity.clear()
        _by_identity[id(form)] = (weakref.ref(form), compiled)
    return compiled


def clear_cache() -> None:
    """Forget every compiled form (tests, and tools that reload definitions in place)."""
    with _lock:
        _by_hash.clear()
        _by_identity.clear()


class _Compiler:
    """Collects every compile problem of one form so they are reported together."""

    def __init__(self, form: FormDefinition):
        self.form = form
        self.errors: list[DefinitionError] = []
        self.relation_targets: dict[str, str] = {}
        top = frozenset(f.key for f in form.fields) | RECORD_NAMES
        self.subtables = {
            f.key: frozenset(c.key for c in f.fields) for f in form.fields if f.type == "subtable"
        }
        for f in form.fields:
            if f.type == "relation" and f.option("to"):
                self.relation_targets[f.key] = f.option("to")
        for sub in form.subtables():
            for column in sub.fields:
                if column.type == "relation" and column.option("to"):
                    self.relation_targets.setdefault(column.key, column.option("to"))
        from engine.runtime.forms.lookups import lookup_inputs

        # MATCH("x") reads what lookup x's expressions read (docs/lookups.md)
        self.lookup_inputs = lookup_inputs(form)
        self.form_scope = self._scope(top)
        # Row expressions see the row's columns first, then the parent's fields.
        self.row_scopes = {
            key: self._scope(top | columns) for key, columns in self.subtables.items()
        }

    def _scope(self, names: frozenset[str]) -> ExpressionScope:
        # The target forms' fields are unknown here (the loader, which sees every form,
        # checks LOOKUP targets), so relation_targets stays empty.
        return ExpressionScope(fields=names, subtables=self.subtables, lookups=self.lookup_inputs)

    def fail(self, definition: FieldDefinition | None, path: str, message: str, hint=None):
        location = definition.location if definition is not None else self.form.location
        self.errors.append(
            DefinitionError(
                file=(location.file if location else self.form.source_file) or self.form.key,
                line=location.line if location else 0,
                column=location.column if location else 0,
                path=path,
                message=message,
                hint=hint,
            )
        )

    def expression(
        self, source: str, scope: ExpressionScope | None, owner: FieldDefinition | None, path: str
    ) -> CompiledExpression | None:
        try:
            return compile_expression(source, scope)
        except ExpressionError as error:
            self.fail(owner, path, error.message, error.hint)
            return None

    def field(self, definition: FieldDefinition, subtable: str | None) -> FieldPlan:
        scope = self.row_scopes[subtable] if subtable else self.form_scope
        base = (
            f"fields.{subtable}.fields.{definition.key}" if subtable else f"fields.{definition.key}"
        )
        sources = {
            "formula": definition.option("expr") if definition.type == "formula" else None,
            "default_expr": definition.default_expr,
            "visible_if": definition.visible_if,
            "required_if": definition.required_if,
            "readonly_if": definition.readonly_if,
        }
        expressions = {}
        for name in FIELD_EXPRESSIONS:
            source = sources[name]
            if source:
                suffix = "expr" if name == "formula" else name
                compiled = self.expression(source, scope, definition, f"{base}.{suffix}")
                if compiled is not None:
                    expressions[name] = compiled
        columns = tuple(self.field(c, definition.key) for c in definition.fields)
        rules = (
            self.rules(definition.validations, self.row_scopes[definition.key], f"{base}.")
            if definition.validations and subtable is None and definition.key in self.row_scopes
            else ()
        )
        return FieldPlan(
            definition=definition,
            field_type=registry.get(definition.type),
            subtable=subtable,
            expressions=expressions,
            columns=columns,
            target_filter=self.target_filter(definition, base),
            validations=rules,
        )

    def target_filter(self, definition: FieldDefinition, base: str) -> CompiledExpression | None:
        """A relation's or options-from ``filter``, compiled once per form version.

        It reads the OTHER form's fields, which this compiler does not see: the loader
        already checked its names against that form (checks/expressions.py), so here it
        is compiled without a scope (syntax and the function whitelist still apply).
        """
        if definition.type == "relation":
            source, path = definition.option("filter"), f"{base}.filter"
        else:
            options = definition.option("options") if definition.type in CHOICES else None
            if not isinstance(options, Mapping):
                return None
            source, path = options.get("filter"), f"{base}.options.filter"
        if not source:
            return None
        return self.expression(source, None, definition, path)

    def validations(self) -> tuple[ValidationPlan, ...]:
        """The form's own validations, over its fields."""
        return self.rules(self.form.validations, self.form_scope, "")

    def rules(
        self, validations: Iterable[Validation], scope: ExpressionScope, prefix: str
    ) -> tuple[ValidationPlan, ...]:
        """Validations compiled against ``scope`` (a sub-table's row rules: its row scope)."""
        plans = []
        for i, validation in enumerate(validations):
            compiled = self.expression(
                validation.expr, scope, None, f"{prefix}validations[{i}].expr"
            )
            if compiled is None:
                continue
            inputs = frozenset(compiled.names) | {sub for sub, _ in compiled.subtable_refs}
            templates = None
            if any("{" in validation.message.get(loc) for loc in ("zh-CN", "en")):
                try:
                    templates = {
                        loc: compile_template(validation.message.get(loc))
                        for loc in ("zh-CN", "en")
                    }
                except Exception as error:  # jinja2.TemplateSyntaxError, ValueError
                    path = f"{prefix}validations[{i}].message"
                    self.fail(None, path, f"does not compile: {error}")
                    templates = None
            plans.append(ValidationPlan(validation, compiled, inputs, templates))
        return tuple(plans)


def build_plan(form: FormDefinition) -> FormPlan:
    """Compile every expression of ``form`` and order its formulas; see :func:`compile_form`."""
    compiler = _Compiler(form)
    fields = tuple(compiler.field(f, None) for f in form.fields)
    validations = compiler.validations()
    order = _formula_order(fields, compiler)
    title_template = None
    if form.title:
        try:
            title_template = compile_template(form.title)
        except Exception as error:  # jinja2.TemplateSyntaxError and friends
            compiler.fail(None, "title", f"the title template does not compile: {error}")
    if compiler.errors:
        raise DefinitionErrors(compiler.errors)
    return FormPlan(
        form=form,
        fields=fields,
        index={plan.key: plan for plan in fields},
        formula_order=order,
        default_order=_default_order(fields),
        validations=validations,
        relation_targets=dict(compiler.relation_targets),
        title_template=title_template,
        fallback_title_field=first_text_field(fields),
        has_option_sources=any(
            plan.options_from is not None or any(c.options_from is not None for c in plan.columns)
            for plan in fields
        ),
    )


def _formula_order(fields: Iterable[FieldPlan], compiler: _Compiler) -> tuple[FieldPlan, ...]:
    """Formulas sorted so each comes after the formulas it reads (row formulas included)."""
    nodes: dict[tuple[str | None, str], FieldPlan] = {}
    for plan in fields:
        if plan.is_formula and "formula" in plan.expressions:
            nodes[(None, plan.key)] = plan
        for column in plan.columns:
            if column.is_formula and "formula" in column.expressions:
                nodes[(plan.key, column.key)] = column
    deps = {
        node: _dependencies(node, plan, nodes, compiler.subtables) for node, plan in nodes.items()
    }
    ordered: list[FieldPlan] = []
    done: set[tuple[str | None, str]] = set()
    visiting: set[tuple[str | None, str]] = set()

    def visit(node: tuple[str | None, str], trail: list[str]) -> None:
        if node in done:
            return
        if node in visiting:
            path = " -> ".join([*trail, nodes[node].path])
            compiler.fail(
                nodes[node].definition,
                f"fields.{nodes[node].path}.expr",
                f"formulas depend on each other in a cycle: {path}",
                "break the cycle by making one of them an input field",
            )
            return
        visiting.add(node)
        for dep in sorted(deps[node], key=lambda n: (n[0] or "", n[1])):
            visit(dep, [*trail, nodes[node].path])
        visiting.discard(node)
        done.add(node)
        ordered.append(nodes[node])

    for node in nodes:
        visit(node, [])
    return tuple(ordered)


def _dependencies(
    node: tuple[str | None, str],
    plan: FieldPlan,
    nodes: Mapping[tuple[str | None, str], FieldPlan],
    subtables: Mapping[str, frozenset[str]],
) -> set[tuple[str | None, str]]:
    own_subtable = node[0]
    expression = plan.expressions["formula"]
    refs = set(expression.subtable_refs)
    found: set[tuple[str | None, str]] = set()
    for name in expression.names:
        if own_subtable and name in subtables[own_subtable] and name != own_subtable:
            candidate = (own_subtable, name)
        elif name in subtables:
            # A column-precise reference (SUM(lines.amount)) needs just that column; a bare
            # one (COUNT(lines)) needs every formula column of the sub-table.
            columns = {col for sub, col in refs if sub == name} or subtables[name]
            found.update((name, col) for col in columns if (name, col) in nodes)
            continue
        else:
            candidate = (None, name)
        if candidate in nodes:
            found.add(candidate)
    for sub, col in refs:
        if (sub, col) in nodes:
            found.add((sub, col))
    found.discard(node)
    return found


def _default_order(fields: Iterable[FieldPlan]) -> tuple[FieldPlan, ...]:
    """Fields taking a default, so that a default_expr reads defaults already applied."""
    inputs = [plan for plan in fields if not plan.is_subtable and not plan.is_formula]
    computed = {plan.key: plan for plan in inputs if "default_expr" in plan.expressions}
    ordered = [plan for plan in inputs if plan.key not in computed]
    placed: set[str] = set()

    def place(key: str, trail: frozenset[str]) -> None:
        if key in placed or key in trail:  # a cycle is the loader's to report
            return
        names = computed[key].expressions["default_expr"].names
        for name in sorted(names & computed.keys()):
            place(name, trail | {key})
        placed.add(key)
        ordered.append(computed[key])

    for key in computed:
        place(key, frozenset())
    return tuple(ordered)
