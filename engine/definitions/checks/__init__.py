"""Semantic checks: a table of small functions, each yielding located errors.

A form check takes ``(form, app)``; an app check takes ``(app)``. Adding a check is one
function and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from engine.definitions.checks.aggregates import check_aggregates
from engine.definitions.checks.cycles import check_cycles
from engine.definitions.checks.expressions import check_expressions
from engine.definitions.checks.flows import check_flows
from engine.definitions.checks.identifiers import (
    check_app_identifiers,
    check_duplicate_forms,
    check_form_identifiers,
)
from engine.definitions.checks.lookups import check_lookups
from engine.definitions.checks.machines import check_machines
from engine.definitions.checks.permissions import check_app_permissions, check_permissions
from engine.definitions.checks.references import (
    check_field_references,
    check_layout,
    check_list,
    check_unique_and_validations,
)
from engine.definitions.checks.rules import check_rules
from engine.definitions.checks.structure import (
    check_field_options,
    check_indexes,
    check_nesting,
)
from engine.definitions.checks.title import check_messages, check_title
from engine.definitions.checks.unique_keys import check_unique_keys
from engine.definitions.context import AppContext, FormInfo
from engine.errors import DefinitionError

FormCheck = Callable[[FormInfo, AppContext], Iterable[DefinitionError]]
AppCheck = Callable[[AppContext], Iterable[DefinitionError]]

FORM_CHECKS: tuple[FormCheck, ...] = (
    check_form_identifiers,
    check_nesting,
    check_field_options,
    check_indexes,
    check_layout,
    check_list,
    check_unique_and_validations,
    check_unique_keys,
    check_field_references,
    check_expressions,
    check_lookups,
    check_cycles,
    check_title,
    check_messages,
    check_permissions,
    check_aggregates,
)

APP_CHECKS: tuple[AppCheck, ...] = (
    check_app_identifiers,
    check_duplicate_forms,
    check_app_permissions,
    check_flows,
    check_rules,
    check_machines,
)
