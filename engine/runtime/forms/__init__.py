"""Record preparation: raw input for a form -> validated, computed values.

``compile_form(form)`` compiles a definition once per version (expressions, formula
order, title template); ``CompiledForm.prepare(raw, existing=..., env=...)`` runs, in
order: unknown keys (with a did-you-mean hint) -> coercion by field type -> defaults
(new records and new rows) -> read-only input dropped -> relations checked and
``fill_from`` copied (and their ``filter`` checked) -> options taken from another form
checked -> formulas in dependency order -> required / row counts ->
validations. Every problem is collected and raised together as
:class:`engine.errors.RecordValidationError`. No SQL: related records are read through
``RecordEnvironment.fetch_record``.

Decisions (where the contract left a choice):

* **Read-only and computed fields ignore input** (no error): formula fields are always
  recomputed; a read-only field keeps its stored value on update and its default on
  creation. ``readonly_if`` is judged on the stored record for updates.
* **Hidden fields** (``visible_if`` false) keep the value as submitted (or stored), are
  never required, and still take part in formulas and validations.
* **Blank vs zero**: blank is ``None`` / ``""`` / ``[]``; ``0`` and ``False`` are values
  and satisfy ``required``. Blank operands make a formula blank; aggregates skip them.
* **Defaults** apply to keys absent from a new record's input; an explicit ``null``
  stays blank.
* **Updates**: absent fields keep their value; a given sub-table replaces the rows
  whole; a row with the ``id`` of a stored row updates it (its absent columns keep their
  values), a row without ``id`` is new, an unknown ``id`` is an error.
* **fill_from** copies when the relation is set (new record / new row) or changed; a
  value typed for the same field in the same submission wins, except read-only ones.
  A relation pointing at a missing record is an error only when it is set or changed,
  so a record whose supplier was deleted later can still be edited. The same holds for
  a relation's ``filter`` and for select/multiselect options taken from another form
  (``code`` ``filter`` / ``option``): only values set or changed now are judged, for
  ``many`` relations and multiselects only the ids/values added now.
* **Validations** reading a field that already has an error (or a formula blank because
  of one) are skipped; otherwise the language's blank rules apply (``x > 0`` is false
  for a blank ``x``: write ``ISBLANK(x) or x > 0`` for optional fields) and a blank
  result passes. Messages may be Jinja templates over display values.
* Expressions may read the stored record's system columns (``id``, ``status``...).
"""

from engine.runtime.forms.compiled import CompiledForm
from engine.runtime.forms.compiler import clear_cache, compile_form
from engine.runtime.forms.environment import DEFAULT_SUBMISSION_BUDGET_SECONDS, RecordEnvironment

__all__ = [
    "DEFAULT_SUBMISSION_BUDGET_SECONDS",
    "CompiledForm",
    "RecordEnvironment",
    "clear_cache",
    "compile_form",
]
