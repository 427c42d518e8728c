"""The JSON Schema of dashboard documents (``dashboards/*.yaml``).

Editors complete dashboard files from ``docs/schema/dashboard.schema.json`` (regenerate
it with ``python -m engine.definitions.dashboard_schema docs/schema``); the loader
validates every dashboard document against it before the semantic checks
(engine/definitions/checks/dashboards.py). Like the ledger schema it is self-contained:
it needs only the shared ``i18n`` definition. Time bucket names are left to the checks,
which name the close match.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from engine.definitions.dashboards import (
    DATE_PRESETS,
    FILTER_TYPES,
    FORMATS,
    GRID_COLUMNS,
    KPI_COMPARISONS,
    WIDGET_KINDS,
)
from engine.definitions.schema import _STATIC_DEFS, DRAFT, render
from engine.definitions.schema_errors import translate
from engine.definitions.source import Source
from engine.errors import DefinitionError

_I18N = {"$ref": "#/$defs/i18n"}
_PATH = {
    "type": "string",
    "description": "a field of the source (total), through a relation (supplier.region) "
    "or of a sub-table (lines.product); or status, created_at, updated_at, created_by, id",
}
_EXPR = {"type": "string", "description": "a row condition: status == 'approved' and total > 0"}

_DIMENSION = {
    "description": "a path, or {field, bucket, label}",
    "anyOf": [
        _PATH,
        {
            "type": "object",
            "required": ["field"],
            "additionalProperties": False,
            "properties": {
                "field": _PATH,
                "bucket": {
                    "type": "string",
                    "description": "a time bucket of a date field: day, week, month, quarter, year",
                },
                "label": _I18N,
            },
        },
    ],
}

_MEASURE_EXPR = {
    "type": "string",
    "description": "COUNT(), COUNT(path), COUNT_DISTINCT(path), SUM, AVG, MIN, MAX(path), "
    "or + - * / over aggregates: SUM(revenue) / SUM(cost)",
}

_MEASURE = {
    "description": "an aggregate expression, or {expr, label, format, decimals}",
    "anyOf": [
        _MEASURE_EXPR,
        {
            "type": "object",
            "required": ["expr"],
            "additionalProperties": False,
            "properties": {
                "expr": _MEASURE_EXPR,
                "label": _I18N,
                "format": {"enum": list(FORMATS), "description": "how values are shown"},
                "decimals": {"type": "integer", "minimum": 0, "maximum": 6},
            },
        },
    ],
}

_TARGET = {
    "type": "object",
    "description": "a KPI's target: an aggregate over another form in the same period",
    "required": ["source", "measure", "date"],
    "additionalProperties": False,
    "properties": {
        "source": {"type": "string", "description": "the form holding the targets"},
        "measure": _MEASURE_EXPR,
        "date": {"type": "string", "description": "its date field"},
        "filter": _EXPR,
    },
}

_WIDGET = {
    "type": "object",
    "description": "one widget: a kind, a source form, dimensions and measures",
    "required": ["kind", "source"],
    "additionalProperties": False,
    "properties": {
        "kind": {"enum": list(WIDGET_KINDS)},
        "title": _I18N,
        "source": {"type": "string", "description": "the form whose records it reads"},
        "dimensions": {
            "type": "array",
            "items": _DIMENSION,
            "description": "what it groups by (a pivot's rows)",
        },
        "columns": {
            "type": "array",
            "items": _DIMENSION,
            "description": "a pivot's column dimensions",
        },
        "measures": {
            "type": "object",
            "description": "key -> measure, in display order",
            "additionalProperties": _MEASURE,
            "minProperties": 1,
        },
        "filter": _EXPR,
        "sort": {
            "description": "measure or dimension keys; -key sorts descending",
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}},
            ],
        },
        "limit": {"type": "integer", "minimum": 1, "maximum": 10000},
        "width": {
            "type": "integer",
            "minimum": 1,
            "maximum": GRID_COLUMNS,
            "description": f"columns of the {GRID_COLUMNS}-column grid (default 6; kpi 3)",
        },
        "height": {"type": "integer", "minimum": 1, "maximum": 2},
        "stacked": {"type": "boolean", "description": "bar, line: stack the series"},
        "horizontal": {"type": "boolean", "description": "bar, ranking: horizontal bars"},
        "area": {"type": "boolean", "description": "line: fill under the line"},
        "donut": {"type": "boolean", "description": "pie: a ring"},
        "others": {
            "type": "boolean",
            "description": "ranking: one 'others' row for the rest (default true)",
        },
        "subtotals": {"type": "boolean", "description": "pivot: subtotal rows"},
        "cumulative": {
            "type": "boolean",
            "description": "funnel: each step counts the records that reached it (its own "
            "and every later step's)",
        },
        "steps": {
            "type": "array",
            "description": "funnel: the dimension's values, in order",
            "minItems": 1,
        },
        "fields": {
            "type": "array",
            "items": _PATH,
            "minItems": 1,
            "description": "table: its columns (paths)",
        },
        "page_size": {"type": "integer", "minimum": 1, "maximum": 500},
        "date": {"type": "string", "description": "kpi: the date field of its period"},
        "period": {"enum": list(DATE_PRESETS), "description": "kpi: default this_month"},
        "compare": {"enum": list(KPI_COMPARISONS)},
        "target": _TARGET,
        "sparkline": {
            "type": "string",
            "description": "kpi: a trend line by day, week, month, quarter or year",
        },
    },
}

_FILTER = {
    "type": "object",
    "description": "a dashboard filter, applied to every widget whose source has its field",
    "required": ["type"],
    "additionalProperties": False,
    "properties": {
        "type": {"enum": list(FILTER_TYPES)},
        "label": _I18N,
        "field": _PATH,
        "fields": {
            "type": "object",
            "description": "form -> path, where the field differs per source",
            "additionalProperties": _PATH,
        },
        "default": {"description": "date_range: a preset such as this_year; else a value"},
        "options": {"type": "array", "description": "select: the values offered"},
        "to": {"type": "string", "description": "relation: the related form"},
    },
}

_DASHBOARD = {
    "type": "object",
    "description": "one dashboard: filters, widgets in layout order, interactions",
    "required": ["dashboard", "widgets"],
    "additionalProperties": False,
    "properties": {
        "dashboard": {"type": "string", "description": "the dashboard key (unique in the app)"},
        "name": _I18N,
        "description": _I18N,
        "roles": {
            "type": "array",
            "items": {"type": "string"},
            "uniqueItems": True,
            "description": "app roles that find it in the menu",
        },
        "filters": {"type": "object", "additionalProperties": _FILTER},
        "interactions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["from", "sets"],
                "additionalProperties": False,
                "properties": {
                    "from": {"type": "string", "description": "a widget key"},
                    "sets": {"type": "string", "description": "a filter key"},
                },
            },
        },
        "widgets": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": _WIDGET,
        },
    },
}


def dashboard_schema() -> dict[str, Any]:
    """The self-contained schema of one dashboard document."""
    return {
        "$schema": DRAFT,
        "title": "Low-code dashboard definition",
        "$ref": "#/$defs/dashboard",
        "$defs": {"i18n": _STATIC_DEFS["i18n"], "dashboard": _DASHBOARD},
    }


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(dashboard_schema())


def dashboard_schema_errors(source: Source) -> list[DefinitionError]:
    """Every schema problem of one dashboard document, translated and located."""
    found: dict[tuple[Any, ...], DefinitionError] = {}
    for error in _validator().iter_errors(source.data):
        for located in translate(error, source):
            found.setdefault((located.line, located.column, located.path, located.message), located)
    return list(found.values())


def write_dashboard_schema(folder: str | Path) -> Path:
    """Write ``dashboard.schema.json`` into ``folder``; its path."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    path = target / "dashboard.schema.json"
    path.write_text(render(dashboard_schema()), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_dashboard_schema(sys.argv[1] if len(sys.argv) > 1 else "docs/schema"))
