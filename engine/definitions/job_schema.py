"""The JSON Schema of batch job documents (``jobs/*.yaml``).

Editors complete job files from ``docs/schema/job.schema.json`` (regenerate it with
``python -m engine.definitions.job_schema docs/schema``); the loader validates every
job document against it before the semantic checks (engine/definitions/checks/jobs.py)
look at forms, fields and formulas.

The schema is kept here, self-contained, rather than in the DSL schema's ``$defs``
(engine/definitions/schema.py): it needs only the shared ``i18n`` definition.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from engine.definitions.jobs import PERIOD_KINDS
from engine.definitions.schema import _STATIC_DEFS, DRAFT, render
from engine.definitions.schema_errors import translate
from engine.definitions.source import Source
from engine.errors import DefinitionError

TEXT = {"type": "string"}
_KEY = {"type": "string", "description": "an identifier: letters, digits and _"}
_FIELDS = {"type": "array", "items": _KEY, "minItems": 1, "uniqueItems": True}


def _object(required: list[str], about: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "description": about,
        "required": required,
        "additionalProperties": False,
        "properties": properties,
    }


_JOB = _object(
    ["job", "period", "source", "group_by", "values", "output"],
    "one batch job: a grouped query over a form per period, written to another form",
    job={"type": "string", "description": "the job key (an identifier, unique in the app)"},
    name={"$ref": "#/$defs/i18n"},
    description={"$ref": "#/$defs/i18n"},
    period={
        "enum": list(PERIOD_KINDS),
        "description": "month (--period 2026-09), quarter (2026-Q3) or year (2026)",
    },
    source=_object(
        ["form", "date"],
        "the rows read: a form, the date field that puts a row in a period, a condition",
        form={"type": "string", "description": "the form whose rows are grouped"},
        date={
            "type": "string",
            "description": "a date or datetime field (or created_at / updated_at)",
        },
        where={
            "type": "string",
            "description": "a condition the database applies: field == 'value', and/or/not",
        },
    ),
    group_by={**_FIELDS, "description": "fields of the source form: one output per group"},
    values={
        "type": "object",
        "description": "name -> aggregate: SUM(f), AVG(f), MIN(f), MAX(f), COUNT(), COUNT(f)",
        "minProperties": 1,
        "additionalProperties": {"type": "string", "pattern": r"^\s*[A-Za-z]+\s*\("},
    },
    output=_object(
        ["form", "values"],
        "the document written per group",
        form={"type": "string", "description": "the form of the documents"},
        match={
            **_FIELDS,
            "description": "output fields that find an existing document not yet linked",
        },
        values={
            "type": "object",
            "description": "field -> formula over group fields, aggregates, period, "
            "period_start, period_end",
            "minProperties": 1,
            "additionalProperties": TEXT,
        },
    ),
)


def job_schema() -> dict[str, Any]:
    """The self-contained schema of one job document."""
    return {
        "$schema": DRAFT,
        "title": "Low-code job definition",
        "$ref": "#/$defs/job",
        "$defs": {"i18n": _STATIC_DEFS["i18n"], "job": _JOB},
    }


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(job_schema())


def job_schema_errors(source: Source) -> list[DefinitionError]:
    """Every schema problem of one job document, translated and located."""
    found: dict[tuple[Any, ...], DefinitionError] = {}
    for error in _validator().iter_errors(source.data):
        for located in translate(error, source):
            found.setdefault((located.line, located.column, located.path, located.message), located)
    return list(found.values())


def write_job_schema(folder: str | Path) -> Path:
    """Write ``job.schema.json`` into ``folder``; its path."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    path = target / "job.schema.json"
    path.write_text(render(job_schema()), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_job_schema(sys.argv[1] if len(sys.argv) > 1 else "docs/schema"))
