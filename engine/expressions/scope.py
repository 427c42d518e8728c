"""What a formula may name: the fields of its form, sub-table columns, relation targets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


def _freeze_targets(value: Mapping[str, Iterable[str]]) -> Mapping[str, frozenset[str]]:
    return MappingProxyType({str(k): frozenset(v) for k, v in value.items()})


@dataclass(frozen=True)
class ExpressionScope:
    """The names a formula may use, checked at compile time.

    ``fields`` are names usable at top level; ``subtables`` maps a sub-table key to its
    column keys (so ``SUM(lines.amount)`` is checked); ``relation_targets`` maps a
    relation field key to the target form's field keys (so ``LOOKUP(supplier, "name")``
    is checked when the target is known). The scope is hashable so compiled formulas can
    be cached per (source, scope).
    """

    fields: frozenset[str] = frozenset()
    subtables: Mapping[str, frozenset[str]] = field(default_factory=dict)
    relation_targets: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: the fields ``record.x`` may name in an aggregate's ``where`` (the declaring form's;
    #: None: ``record.x`` is not allowed). docs/aggregates.md
    record_fields: frozenset[str] | None = None
    #: the form's best-match lookups (docs/lookups.md): name -> the names their match
    #: expressions read, so MATCH("name") depends on them; a name absent here is unknown
    lookups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: lookup name -> the target form's field keys (absent: not checked here)
    lookup_fields: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", frozenset(self.fields))
        object.__setattr__(self, "subtables", _freeze_targets(self.subtables))
        object.__setattr__(self, "relation_targets", _freeze_targets(self.relation_targets))
        if self.record_fields is not None:
            object.__setattr__(self, "record_fields", frozenset(self.record_fields))
        object.__setattr__(self, "lookups", _freeze_targets(self.lookups))
        object.__setattr__(self, "lookup_fields", _freeze_targets(self.lookup_fields))
        key = (
            self.fields,
            frozenset(self.subtables.items()),
            frozenset(self.relation_targets.items()),
            self.record_fields,
            frozenset(self.lookups.items()),
            frozenset(self.lookup_fields.items()),
        )
        object.__setattr__(self, "_key", key)

    def __hash__(self) -> int:
        return hash(self._key)  # type: ignore[attr-defined]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExpressionScope):
            return NotImplemented
        return self._key == other._key  # type: ignore[attr-defined]

    def knows(self, name: str) -> bool:
        """True when ``name`` is a field or a sub-table of this scope."""
        return name in self.fields or name in self.subtables

    def top_level_names(self) -> frozenset[str]:
        """Every name usable at top level, for "did you mean" hints."""
        return self.fields | frozenset(self.subtables)
