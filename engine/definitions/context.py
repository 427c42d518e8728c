"""What semantic checks see: the app's documents, each form's fields with their paths.

Checks read plain data (not model values) so every problem can be located at the exact
key; :class:`FieldSite` carries a field's path, its definition (shorthand expanded) and
its canonical type.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.definitions import field_types
from engine.definitions.source import Path, Source

#: system columns that lists, sorts, titles and expressions may name
VISIBLE_SYSTEM_COLUMNS = frozenset(
    {"id", "status", "title", "created_at", "updated_at", "created_by", "updated_by"}
)


def field_definition(value: Any) -> dict[str, Any]:
    """A field's definition as a mapping: the shorthand ``qty: number`` is ``{type: number}``."""
    if isinstance(value, str):
        return {"type": value}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class FieldSite:
    """One field (or sub-table column) of a form, where it is written and what it says."""

    key: str
    path: Path
    definition: Mapping[str, Any]
    type: str | None
    parent: FieldSite | None = None

    def at(self, *parts: str | int) -> Path:
        """The path of one of this field's keys: ``site.at("options", 0, "value")``."""
        return (*self.path, *parts)

    @property
    def dotted_key(self) -> str:
        """``lines.qty`` for a sub-table column, ``qty`` for a form field."""
        return f"{self.parent.key}.{self.key}" if self.parent else self.key


@dataclass
class FormInfo:
    """A form document seen by the checks: its key, source and every field site."""

    key: str
    source: Source
    top: dict[str, FieldSite] = field(default_factory=dict)
    children: dict[str, dict[str, FieldSite]] = field(default_factory=dict)
    #: paths where the schema found problems; checks that need a sound shape skip them
    broken: frozenset[Path] = frozenset()

    @classmethod
    def of(cls, source: Source) -> FormInfo | None:
        """The form in ``source``, or None when the document has no usable form key."""
        key = source.get(("form",))
        if not isinstance(key, str):
            return None
        info = cls(key, source)
        info.top = info._collect(source.get(("fields",)), ("fields",), None)
        return info

    def _collect(self, fields: Any, path: Path, parent: FieldSite | None) -> dict[str, FieldSite]:
        sites: dict[str, FieldSite] = {}
        if not isinstance(fields, dict):
            return sites
        for key, value in fields.items():
            definition = field_definition(value)
            raw_type = definition.get("type")
            type_name = field_types.canonical(raw_type) if isinstance(raw_type, str) else None
            site = FieldSite(key, (*path, key), definition, type_name, parent)
            sites[key] = site
            if type_name == "subtable" and isinstance(definition.get("fields"), dict):
                self.children[site.dotted_key] = self._collect(
                    definition["fields"], (*site.path, "fields"), site
                )
        return sites

    def sites(self) -> Iterator[FieldSite]:
        """Every field site, depth first in file order (a sub-table, then its columns)."""

        def walk(sites: dict[str, FieldSite]) -> Iterator[FieldSite]:
            for site in sites.values():
                yield site
                yield from walk(self.children.get(site.dotted_key, {}))

        return walk(self.top)

    def columns(self, site: FieldSite) -> dict[str, FieldSite]:
        """The columns of a sub-table site (empty for other fields)."""
        return self.children.get(site.dotted_key, {})

    def row_validations(self, site: FieldSite) -> list[tuple[Path, dict[str, Any]]]:
        """(path, rule) of each row validation written on the sub-table ``site``."""
        items = self.source.get(site.at("validations")) if site.type == "subtable" else None
        if not isinstance(items, list):
            return []
        return [(site.at("validations", i), v) for i, v in enumerate(items) if isinstance(v, dict)]

    def subtable_sites(self) -> list[FieldSite]:
        """The form's sub-table fields, in file order."""
        return [site for site in self.top.values() if site.type == "subtable"]

    def siblings(self, site: FieldSite) -> dict[str, FieldSite]:
        """The fields at the same level as ``site``: its sub-table's columns, or the form's."""
        return self.columns(site.parent) if site.parent else self.top

    def is_broken(self, path: Path) -> bool:
        """True when the schema reported a problem at or under ``path``."""
        return any(p[: len(path)] == path for p in self.broken)

    def field_keys(self) -> frozenset[str]:
        """The form's top-level field keys."""
        return frozenset(self.top)


@dataclass
class AppContext:
    """Every document of an app, with the forms indexed by key (first definition wins)."""

    app: Source | None
    documents: dict[str, list[Source]]
    forms: dict[str, FormInfo] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        app: Source | None,
        documents: dict[str, list[Source]],
        broken: Mapping[int, frozenset[Path]],
    ) -> AppContext:
        """The context of an app; ``broken`` maps ``id(source)`` to its schema error paths."""
        context = cls(app, documents)
        for source in documents.get("form", []):
            info = FormInfo.of(source)
            if info is not None and info.key not in context.forms:
                info.broken = broken.get(id(source), frozenset())
                context.forms[info.key] = info
        return context

    def form_fields(self, key: Any) -> frozenset[str] | None:
        """The top-level field keys of form ``key``, or None when the app has no such form."""
        info = self.forms.get(key) if isinstance(key, str) else None
        return info.field_keys() if info else None
