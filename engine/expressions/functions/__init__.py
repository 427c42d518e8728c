"""The function library: one registry that compilation, evaluation and docs all read.

The registry is built once at import and is read-only, so no request can change what a
formula means.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from engine.expressions.functions import (
    aggregates,
    crossform,
    dates,
    environment,
    ledgers,
    logic,
    matching,
    numeric,
    text,
    tiers,
)
from engine.expressions.functions.spec import FunctionSpec

_MODULES = (
    logic,
    numeric,
    aggregates,
    text,
    dates,
    environment,
    tiers,
    crossform,
    matching,
    ledgers,
)


def _build() -> Mapping[str, FunctionSpec]:
    registry: dict[str, FunctionSpec] = {}
    for module in _MODULES:
        for spec in module.SPECS:
            if spec.name in registry:
                raise RuntimeError(f"function {spec.name} is registered twice")
            registry[spec.name] = spec
    return MappingProxyType(registry)


#: function name -> :class:`FunctionSpec` (callable, signature, one-line doc, example)
FUNCTIONS: Mapping[str, FunctionSpec] = _build()

__all__ = ["FUNCTIONS", "FunctionSpec"]
