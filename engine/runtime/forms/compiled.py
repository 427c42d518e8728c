"""CompiledForm: prepare records, report field states and render titles for one form version."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from engine.errors import RecordError, RecordValidationError
from engine.runtime.forms.checks import check_required, check_validations
from engine.runtime.forms.compiler import RECORD_NAMES
from engine.runtime.forms.computing import compute_formulas
from engine.runtime.forms.environment import RecordEnvironment
from engine.runtime.forms.filling import apply_defaults, fill_relations, ignore_readonly_input
from engine.runtime.forms.intake import take_input
from engine.runtime.forms.messages import message
from engine.runtime.forms.options import check_option_sources
from engine.runtime.forms.plan import FieldPlan, FormPlan
from engine.runtime.forms.submission import OutOfTime, Submission
from engine.runtime.forms.title import display, display_context

DEFAULT_TIMEZONE = ZoneInfo("Asia/Shanghai")

#: the steps of prepare(), in order; each reads and updates one Submission
PREPARE_STEPS = (
    apply_defaults,
    ignore_readonly_input,
    fill_relations,
    check_option_sources,
    compute_formulas,
    check_required,
    check_validations,
)


def _budget_error(sub: Submission) -> RecordError:
    return RecordError(None, message("budget", sub.locale), "budget")


def _no_records(form_key: str, record_id: int) -> None:
    return None


class CompiledForm:
    """A form definition compiled for use at run time; obtain one with ``compile_form``."""

    def __init__(self, plan: FormPlan):
        self.plan = plan
        self.form = plan.form

    def prepare(
        self,
        raw: Mapping[str, Any],
        *,
        existing: Mapping[str, Any] | None = None,
        env: RecordEnvironment,
        source: Literal["json", "web", "excel", "import"] = "json",
    ) -> dict[str, Any]:
        """Validated, computed values of a new record (``existing`` None) or of an update.

        For an update ``raw`` holds only the changes. Returns field key -> value with
        sub-tables as lists of row dicts (stored rows keep their ``id``); raises
        :class:`RecordValidationError` with every problem found. ``source`` says how the
        values were typed (``json``, ``web``, ``excel``) and whether they are an import
        (``excel``, ``import``: an import may keep legacy serial numbers where the field
        says ``keep_imported: true``; ``import`` values read like web input).
        """
        if not isinstance(raw, Mapping):
            raise TypeError(
                f"prepare() expects a mapping of field key -> value, got {type(raw).__name__}"
            )
        sub = Submission(self.plan, env, existing, source, RECORD_NAMES)
        try:
            sub.check_deadline()
            take_input(sub, raw)
            for step in PREPARE_STEPS:
                sub.check_deadline()
                step(sub)
        except OutOfTime:
            # The errors found so far may be a fraction of them: report only the budget.
            raise RecordValidationError([_budget_error(sub)]) from None
        if sub.errors:
            raise RecordValidationError(sub.errors)
        return sub.values

    def field_states(
        self, values: Mapping[str, Any], *, env: RecordEnvironment | None = None
    ) -> dict[str, dict[str, Any]]:
        """{visible, required, readonly} of each field for these values.

        Sub-table columns appear as ``lines.qty``: the flags for a new blank row, plus
        ``rows`` with the flags of each existing row. A condition that cannot be
        evaluated falls back to the static flag (visible, not required, not read-only).
        """
        sub = Submission(self.plan, env or _default_env(), values, "json", RECORD_NAMES)
        sub.values = {plan.key: values.get(plan.key) for plan in self.plan.fields}
        states: dict[str, dict[str, Any]] = {}
        for plan in self.plan.fields:
            states[plan.key] = _state(sub, plan)
            for column in plan.columns:
                blank_row = {c.key: None for c in plan.columns}
                state = _state(sub, column, blank_row)
                state["rows"] = [_state(sub, column, row) for row in sub.values[plan.key] or ()]
                states[column.path] = state
        return states

    def render_title(
        self,
        values: Mapping[str, Any],
        *,
        env: RecordEnvironment | None = None,
        locale: str | None = None,
    ) -> str:
        """The record's title from the form's ``title`` template (sandboxed Jinja).

        Values are shown through their field type's display; with ``env``, relation
        fields show the related record's ``display`` field instead of its id. Without a
        template (or when it renders empty) the first text field is used, then ``#<id>``.
        """
        locale = locale or (env.locale if env else "zh-CN")
        template = self.plan.title_template
        if template is not None:
            relation_display = _relation_display(env) if env is not None else None
            context = display_context(template, self.plan.index, values, locale, relation_display)
            try:
                text = template.render(context)
            except Exception:  # a sandbox refusal at run time falls back, never breaks a save
                text = ""
            if text:
                return text
        fallback = self.plan.fallback_title_field
        if fallback is not None and not fallback.is_blank(values.get(fallback.key)):
            return display(fallback, values.get(fallback.key), locale)
        record_id = values.get("id")
        return f"#{record_id}" if record_id is not None else ""


def _state(
    sub: Submission, plan: FieldPlan, row: Mapping[str, Any] | None = None
) -> dict[str, bool]:
    row = dict(row) if row is not None else None
    return {
        "visible": sub.is_visible(plan, row),
        "required": sub.is_required(plan, row),
        "readonly": sub.is_readonly(plan, row),
    }


def _relation_display(env: RecordEnvironment):
    def show(plan: FieldPlan, value: Any) -> str | None:
        target = plan.relation_to
        display_key = plan.definition.option("display")
        if not target or not display_key or value is None:
            return None
        ids = value if plan.many else [value]
        texts = []
        for record_id in ids:
            record = env.fetch_record(target, record_id)
            texts.append(str(record.get(display_key, "")) if record else f"#{record_id}")
        return ", ".join(texts)

    return show


def _default_env() -> RecordEnvironment:
    return RecordEnvironment(
        now=datetime.now(DEFAULT_TIMEZONE), user=None, department=None, fetch_record=_no_records
    )
