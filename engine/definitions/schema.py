"""The DSL's own JSON Schema (Draft 2020-12), built from the field-type registry.

One schema serves two readers: the loader validates every document against it, and
editors (VS Code's YAML extension) use the published copies in ``docs/schema`` for
completion and squiggles. Regenerate them with
``python -m engine.definitions.schema docs/schema``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from engine.definitions import field_types
from engine.definitions.flow_schema import FLOW_DEFS
from engine.definitions.lookups import FORM_PROPERTIES as LOOKUP_FORM_PROPERTIES
from engine.definitions.lookups import LOOKUP_DEFS
from engine.definitions.normalizers import NORMALIZERS
from engine.definitions.permissions import (
    ACTIONS,
    EXPRESSION_RULE,
    FIELD_ACCESS,
    FIELD_RULES,
    PLAIN_RULES,
)
from engine.definitions.rule_schema import RULE_DEFS

DRAFT = "https://json-schema.org/draft/2020-12/schema"
#: the kinds of document that are published as their own schema file
PUBLISHED_KINDS = ("app", "form", "flow", "rule", "machine")

SEMVER = r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"
_SPEC = r"(>=|<=|==|!=|>|<|~=)?\s*\d+(\.\d+){0,2}"
VERSION_SPEC = rf"^\s*{_SPEC}(\s*,\s*{_SPEC})*\s*$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _list_of(item: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "array", "items": item, **extra}


TEXT = {"type": "string"}

#: the keys of a normalized unique rule (docs/uniqueness.md)
UNIQUE_KEY_PROPERTIES: dict[str, Any] = {
    "normalize": {
        "type": "array",
        "items": {"enum": list(NORMALIZERS)},
        "minItems": 1,
        "description": "normalizers applied in order to each field before comparing "
        "(docs/uniqueness.md)",
    },
    "where": {
        "type": "object",
        "description": "which records count: field (or status) -> the values that count; "
        "until: a date/datetime field after which the record no longer counts",
        "properties": {"until": TEXT},
        "additionalProperties": {
            "oneOf": [
                {
                    "type": "array",
                    "items": {"type": ["string", "number", "boolean"]},
                    "minItems": 1,
                },
                {"type": ["string", "number", "boolean"]},
            ]
        },
    },
}
EXPRESSION = {"type": "string", "description": "an expression (see docs/expressions.md)"}

#: keys every field takes, whatever its type
COMMON_FIELD_PROPERTIES: dict[str, Any] = {
    "type": _ref("field_type"),
    "label": _ref("i18n"),
    "description": _ref("i18n"),
    "required": {"type": "boolean", "default": False},
    "readonly": {"type": "boolean", "default": False},
    "unique": {"type": "boolean", "default": False},
    "index": {
        "type": "boolean",
        "default": False,
        "description": "index the field's column, so lists filter and sort by it quickly",
    },
    "default": {"description": "a literal value of the field's type"},
    "default_expr": EXPRESSION,
    "visible_if": EXPRESSION,
    "required_if": EXPRESSION,
    "readonly_if": EXPRESSION,
}

_STATIC_DEFS: dict[str, Any] = {
    "i18n": {
        "description": "text shown to people: a plain string (both languages) or {zh-CN, en}",
        "anyOf": [
            TEXT,
            {
                "type": "object",
                "properties": {"zh-CN": TEXT, "en": TEXT},
                "additionalProperties": False,
                "minProperties": 1,
            },
        ],
    },
    "app": {
        "type": "object",
        "required": ["app", "version", "name"],
        "additionalProperties": False,
        "properties": {
            "app": {"type": "string", "description": "the app key (an identifier)"},
            "version": {
                "type": "string",
                "pattern": SEMVER,
                "patternErrorMessage": "expected a version like 1.2.0",
            },
            "name": _ref("i18n"),
            "description": _ref("i18n"),
            "requires": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "engine": {
                        "type": "string",
                        "pattern": VERSION_SPEC,
                        "patternErrorMessage": "expected a version requirement like >=1.0",
                    }
                },
            },
            "roles": {
                "type": "object",
                "description": "roles the app expects; installing maps each to an organisation role",
                "additionalProperties": _ref("app_role"),
            },
        },
    },
    "app_role": {
        "description": "a role's name, or {name, admin: true} for a role that administers the app",
        "anyOf": [
            _ref("i18n"),
            {
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "properties": {
                    "name": _ref("i18n"),
                    "description": _ref("i18n"),
                    "admin": {
                        "type": "boolean",
                        "default": False,
                        "description": "members may do everything with every record of the app",
                    },
                },
            },
        ],
    },
    "permissions": {
        "type": "object",
        "description": "app role -> what its members may do with this form (deny unless granted)",
        "additionalProperties": {
            "type": "object",
            "required": ["can"],
            "additionalProperties": False,
            "properties": {
                "can": {
                    "description": "the actions allowed: all, or a list of them",
                    "anyOf": [
                        {"const": "all"},
                        _list_of({"enum": list(ACTIONS)}, minItems=1, uniqueItems=True),
                    ],
                },
                "rows": {
                    "description": "which records: a row rule or a list of them (their union)",
                    "anyOf": [_ref("row_rule"), _list_of(_ref("row_rule"), minItems=1)],
                },
                "fields": {
                    "type": "object",
                    "description": "field key -> hidden or readonly for this role",
                    "additionalProperties": {"enum": list(FIELD_ACCESS)},
                },
            },
        },
    },
    "row_rule": {
        "description": "all, own, a rule over named fields ({dealer_tree: dealer}) or {expr: ...}",
        "anyOf": [
            {"enum": [*PLAIN_RULES, *FIELD_RULES]},
            {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "additionalProperties": False,
                "properties": {
                    **{kind: {"anyOf": [TEXT, _list_of(TEXT, minItems=1)]} for kind in FIELD_RULES},
                    EXPRESSION_RULE: EXPRESSION,
                },
            },
        ],
    },
    "form": {
        "type": "object",
        "required": ["form", "fields"],
        "additionalProperties": False,
        "properties": {
            "form": {"type": "string", "description": "the form key (an identifier)"},
            "name": _ref("i18n"),
            "description": _ref("i18n"),
            "title": {"type": "string", "description": "a Jinja template: {{ serial }}"},
            "fields": _ref("fields"),
            "layout": _list_of(
                {
                    "type": "object",
                    "required": ["fields"],
                    "additionalProperties": False,
                    "properties": {
                        "section": _ref("i18n"),
                        "columns": {"type": "integer", "minimum": 1, "maximum": 4, "default": 1},
                        "fields": _list_of(TEXT, minItems=1),
                    },
                }
            ),
            "list": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "columns": _list_of(TEXT),
                    "sort": _list_of(TEXT),
                    "filters": {
                        **_list_of(TEXT),
                        "description": "the fields a list view filters by (each is indexed)",
                    },
                },
            },
            "unique": _list_of(
                {
                    "type": "object",
                    "required": ["fields"],
                    "additionalProperties": False,
                    "properties": {
                        "fields": _list_of(TEXT, minItems=1),
                        "message": _ref("i18n"),
                        **UNIQUE_KEY_PROPERTIES,
                    },
                }
            ),
            "validations": _ref("validations"),
            "permissions": _ref("permissions"),
            # lookups, lock_when, versions (docs/lookups.md)
            **LOOKUP_FORM_PROPERTIES,
            "aggregates": {
                "type": "object",
                "description": "named aggregates over another form's rows, read by "
                'AGGREGATE("name") in one SQL query (docs/aggregates.md)',
                "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
                "additionalProperties": {
                    "type": "object",
                    "required": ["form", "measure"],
                    "additionalProperties": False,
                    "properties": {
                        "form": {**TEXT, "description": "the form whose rows are aggregated"},
                        "measure": {
                            **TEXT,
                            "description": "SUM(field), MIN(field), MAX(field), COUNT() "
                            "or COUNT(field)",
                        },
                        "where": {
                            **EXPRESSION,
                            "description": "which rows count: a condition over that form's "
                            "fields the database applies; record.x is this record's x",
                        },
                    },
                },
            },
            "lock": {
                **TEXT,
                "description": "the row locked while a record is written, before its "
                "aggregates are read: a relation or organisation field, or field.field "
                "(docs/aggregates.md)",
            },
        },
    },
    "validations": _list_of(
        {
            "type": "object",
            "required": ["expr", "message"],
            "additionalProperties": False,
            "properties": {"expr": EXPRESSION, "message": _ref("i18n"), "field": TEXT},
        }
    ),
    "fields": {
        "description": "ordered mapping: field key -> definition (or just its type name)",
        "type": "object",
        "minProperties": 1,
        "additionalProperties": _ref("field"),
    },
    "field": {
        # if/then/else instead of anyOf: errors come straight from the branch that applies
        "if": TEXT,
        "then": _ref("field_type"),
        "else": _ref("field_definition"),
    },
}


def _field_type_defs() -> dict[str, Any]:
    """The per-type branches: common keys plus the type's own keys, nothing else."""
    defs: dict[str, Any] = {
        "field_type": {"title": "field type", "enum": field_types.accepted_names()}
    }
    branches = []
    for name in field_types.canonical_names():
        properties = {**COMMON_FIELD_PROPERTIES, **field_types.option_properties(name)}
        required = list(field_types.required_options(name))
        if name == "subtable":
            properties.setdefault("fields", _ref("fields"))
            # row rules, over the row's columns and the parent's fields
            properties.setdefault("validations", _ref("validations"))
            required = sorted({*required, "fields"})
        branch: dict[str, Any] = {"properties": properties, "additionalProperties": False}
        if required:
            branch["required"] = required
        defs[f"field_{name}"] = branch
        names = [name, *field_types.aliases(name)]
        branches.append(
            {
                "if": {"properties": {"type": {"enum": names}}, "required": ["type"]},
                "then": _ref(f"field_{name}"),
            }
        )
    defs["field_definition"] = {
        "type": "object",
        "required": ["type"],
        "properties": COMMON_FIELD_PROPERTIES,
        "allOf": branches,
    }
    return defs


def dsl_schema() -> dict[str, Any]:
    """The full DSL schema: every definition in ``$defs``, any kind of document at the top."""
    return {
        "$schema": DRAFT,
        "title": "Low-code app definition",
        "anyOf": [_ref(kind) for kind in PUBLISHED_KINDS],
        "$defs": {
            **_STATIC_DEFS,
            **FLOW_DEFS,
            **RULE_DEFS,
            **LOOKUP_DEFS,
            **_field_type_defs(),
        },
    }


def kind_schema(kind: str) -> dict[str, Any]:
    """The schema of one kind of document (``app``, ``form``), self-contained."""
    defs = dsl_schema()["$defs"]
    return {
        "$schema": DRAFT,
        "title": f"Low-code {kind} definition",
        "$ref": f"#/$defs/{kind}",
        "$defs": {name: defs[name] for name in defs if name in _reachable(defs, kind)},
    }


def _reachable(defs: dict[str, Any], root: str) -> set[str]:
    """The ``$defs`` names used from ``root`` (so app.schema.json holds no field types)."""
    seen: set[str] = set()
    pending = [root]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        text = json.dumps(defs[name])
        pending.extend(part.split('"')[0] for part in text.split('"#/$defs/')[1:])
    return seen


def render(schema: dict[str, Any]) -> str:
    """The published text of a schema: stable key order, UTF-8, trailing newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schema_files(folder: str | Path) -> list[Path]:
    """Write ``<kind>.schema.json`` for each published kind into ``folder``; returns the paths."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in PUBLISHED_KINDS:
        path = target / f"{kind}.schema.json"
        path.write_text(render(kind_schema(kind)), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    import engine.fields  # noqa: F401  (installs the field types the schema lists)

    for written_path in write_schema_files(sys.argv[1] if len(sys.argv) > 1 else "docs/schema"):
        print(written_path)
