"""Which column of an imported file fills which field: targets, suggestion, checks.

A *target* is a field one may fill from a file: a form field (``qty``) or a sub-table
column (``lines.qty``, labelled ``明细.数量``). Computed fields (formulas, serial numbers
the engine issues, read-only fields), files and fields hidden from the importer are no
targets. A *mapping* is ``header -> target path`` (None: the column is not imported).

:func:`suggest_mapping` matches headers to targets the way people write them: the key,
the label in Chinese or English, any case, full-width or not, spaces ignored, and a
sub-table column as ``明细.数量``, ``明细-数量``, ``lines.qty`` or just ``数量`` when no
other target has that name. :func:`check_mapping` refuses a mapping that names a
header the file lacks, a target that is not one, or one target twice.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from engine.definitions.model import FieldDefinition, FormDefinition
from engine.errors import InvalidArgumentError
from engine.fields import registry
from engine.service.import_values import IMPORTABLE_TYPES
from engine.store.messages import shorten


def _short(value: object) -> str:
    """A name as a message shows it: printable, at most 60 characters, unquoted."""
    text = value if isinstance(value, str) else shorten(value)
    if not text.isprintable():
        text = ascii(text)[1:-1]
    return text if len(text) <= 60 else text[:57] + "..."


#: what people put between a sub-table and its column: 明细.数量, 明细-数量, 明细/数量
_SEPARATORS = re.compile(r"\s*[.\-/·:_>]+\s*")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class ImportTarget:
    """A field a file's column may fill.

    ``path`` is ``qty`` or ``lines.qty``; ``label`` is in the importer's language
    (``明细.数量`` for a sub-table column); ``subtable`` is the sub-table's key for its
    columns. ``names`` are the other ways a header may name it (the label in the other
    language, the sub-table written by key or label), used by :func:`suggest_mapping`.
    """

    path: str
    label: str
    type: str
    required: bool
    subtable: str | None = None
    names: tuple[str, ...] = ()


def import_targets(form: FormDefinition, hidden: set[str], locale: str) -> list[ImportTarget]:
    """The fields of ``form`` a file may fill, in the form's order, for an importer
    who may not see ``hidden`` (field keys; a hidden sub-table hides its columns)."""
    targets: list[ImportTarget] = []
    for field in form.fields:
        if field.key in hidden:
            continue
        if registry.canonical(field.type) == "subtable":
            if field.readonly:  # its rows are kept as stored whatever is sent
                continue
            for column in field.fields:
                path = f"{field.key}.{column.key}"
                if path in hidden or not _fillable(column):
                    continue
                targets.append(_target(column, locale, field))
        elif _fillable(field):
            targets.append(_target(field, locale, None))
    return targets


def _fillable(field: FieldDefinition) -> bool:
    """A field a person types, not one the engine computes or a file upload."""
    kind = registry.canonical(field.type)
    if kind == "serial":
        return bool(field.option("keep_imported", False))
    return kind in IMPORTABLE_TYPES and not field.readonly


def _target(field: FieldDefinition, locale: str, parent: FieldDefinition | None) -> ImportTarget:
    zh, en = field.label.zh_cn, field.label.en
    if parent is None:
        return ImportTarget(
            field.key, field.label.get(locale), field.type, field.required, None, (zh, en)
        )
    heads = (parent.key, parent.label.zh_cn, parent.label.en)
    names = tuple(dict.fromkeys(f"{h}.{c}" for h in heads for c in (field.key, zh, en)))
    label = f"{parent.label.get(locale)}.{field.label.get(locale)}"
    return ImportTarget(
        f"{parent.key}.{field.key}", label, field.type, field.required, parent.key, names
    )


def _folded(text: str) -> str:
    """A header as compared: NFKC (full width to half), any case, separators as ".",
    no spaces."""
    text = unicodedata.normalize("NFKC", text).casefold().strip()
    text = _SEPARATORS.sub(".", text)
    return _SPACES.sub("", text)


def suggest_mapping(targets: list[ImportTarget], headers: Sequence[str]) -> dict[str, str | None]:
    """``header -> target path`` for every header (None when nothing fits).

    Keys first, then labels in either language, then a sub-table column's bare label
    when only one target is called that. A target is suggested for one header only
    (the first that names it); the rest stay unmapped.
    """
    exact: dict[str, str] = {}
    named: dict[str, str] = {}
    bare: dict[str, list[str]] = {}
    for target in targets:
        exact.setdefault(_folded(target.path), target.path)
        for name in (target.label, *target.names):
            named.setdefault(_folded(name), target.path)
        if target.subtable is not None:
            column = target.path.split(".", 1)[1]
            labels = {column, target.label.rsplit(".", 1)[-1]}
            labels.update(n.rsplit(".", 1)[-1] for n in target.names)
            for label in {_folded(x) for x in labels}:
                bare.setdefault(label, []).append(target.path)
    top_level = {_folded(n) for t in targets if t.subtable is None for n in (t.path, *t.names)}
    taken: set[str] = set()
    mapping: dict[str, str | None] = {}
    for header in headers:
        folded = _folded(header)
        found = exact.get(folded) or named.get(folded)
        if found is None and folded not in top_level and len(bare.get(folded, ())) == 1:
            found = bare[folded][0]
        if found is not None and found in taken:
            found = None
        if found is not None:
            taken.add(found)
        mapping[header] = found
    return mapping


def check_mapping(
    targets: list[ImportTarget],
    headers: Sequence[str],
    mapping: Mapping[str, str | None],
    locale: str,
) -> dict[str, str | None]:
    """``mapping`` for every header of the file (absent headers unmapped), or
    InvalidArgumentError naming the header that is wrong: not in the file, mapped to
    something that is no target, or to a target another header already fills."""
    en = isinstance(locale, str) and locale.startswith("en")
    if not isinstance(mapping, Mapping):
        raise _refused(
            en,
            "mapping",
            mapping,
            f"the mapping must be {{header: field}}, got {_short(mapping)}",
            f"列映射应为 {{表头: 字段}}，收到 {_short(mapping)}",
        )
    by_path = {t.path: t for t in targets}
    known = set(headers)
    chosen: dict[str, str | None] = dict.fromkeys(headers)
    filled_by: dict[str, str] = {}
    for header, path in mapping.items():
        if not isinstance(header, str) or header not in known:
            raise _refused(
                en,
                "mapping",
                header,
                f"the file has no column {_short(header)}; its columns: {_listed(headers, en)}",
                f"文件中没有“{_short(header)}”这一列，现有的列：{_listed(headers, en)}",
            )
        if path is None or path == "":
            continue
        target = by_path.get(path) if isinstance(path, str) else None
        if target is None:
            raise _refused(
                en,
                f"mapping[{header}]",
                path,
                f"the column {_short(header)} is mapped to {_short(path)}, which cannot be "
                f"imported; fields that can: {_listed(by_path, en)}",
                f"“{_short(header)}”列对应的 {_short(path)} 不是可导入的字段，"
                f"可导入的字段：{_listed(by_path, en)}",
            )
        other = filled_by.get(path)
        if other is not None:
            raise _refused(
                en,
                f"mapping[{header}]",
                path,
                f"the columns {_short(other)} and {_short(header)} both fill "
                f"{target.label}: map one column per field",
                f"“{_short(other)}”列和“{_short(header)}”列都对应到“{target.label}”，"
                "每个字段只能对应一列",
            )
        filled_by[path] = header
        chosen[header] = path
    return chosen


def _listed(names: Iterable[str], en: bool) -> str:
    items = [_short(n) for n in names]
    text = (", " if en else "、").join(items[:30])
    return text + (" ..." if len(items) > 30 else "")


def _refused(
    en: bool, argument: str, given: object, english: str, chinese: str
) -> InvalidArgumentError:
    return InvalidArgumentError(
        english if en else chinese,
        argument=argument,
        given=shorten(given),
        expected="a column mapping" if en else "列映射",
        code="mapping",
    )
