"""What an imported cell names in the database: related records and the organisation.

:class:`ImportResolver` is the :class:`~engine.service.import_values.Resolver` of one
import, inside one service transaction, for one actor:

* a relation cell names a record of the target form by the relation's display field
  (the record's title when it has none) or by any field the target form declares
  unique (a SKU, a serial number). Every read goes through the actor's scoped record
  source, so a record the actor may not read is "not found" exactly like one that does
  not exist. Lookups are batched: :meth:`ImportResolver.prefetch` reads all the texts
  of a column with a few ``field in (...)`` pages, after which :meth:`relation` is a
  dict lookup. No match is an error, and so are two or more: an import never guesses;
* a user cell names a person by login or name, a department, region or dealer cell by
  code or name, among what the actor may pick (engine/service/org_choices.py: a
  dealer's person only within their dealer). A name two people share is an error
  naming the count. An organisation with no users yet (a fresh install, scripts) keeps
  codes as written, as the record checks do (engine/service/org_values.py).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from engine.definitions.model import FieldDefinition, FormDefinition
from engine.fields import registry
from engine.fields.base import FieldValueError
from engine.service.import_values import CellError, cell_text, shown_cell, split_cell
from engine.service.permissions import Access
from engine.service.transactions import Transaction
from engine.store import org_lists
from engine.store.limits import MAX_PAGE_SIZE
from engine.store.org import names_of

#: field types a relation's text may be looked up by (one plain column each)
LOOKUP_TYPES = frozenset({"text", "serial", "phone", "email", "uscc", "number", "select"})
#: the record title: what a relation shows when it names no display field
TITLE = "title"
#: texts per ``in (...)`` filter (the store takes at most 1,000 values per filter)
CHUNK = MAX_PAGE_SIZE
#: most users read to resolve names (an organisation has a few thousand)
MAX_USERS = 1_000_000


class ImportResolver:
    """Relations and organisation codes for one import (see the module docstring)."""

    def __init__(self, tx: Transaction, access: Access, locale: str = "zh-CN"):
        self._tx = tx
        self._access = access
        self._en = isinstance(locale, str) and locale.startswith("en")
        #: (target form, display field, text) -> record id, or the CellError of that text
        self._relations: dict[tuple[str, str, str], int | CellError] = {}
        #: kind -> (code -> code, folded name -> codes); None: codes kept as written
        self._org: dict[str, tuple[dict[str, str], dict[str, list[str]]] | None] = {}

    # -- relations ------------------------------------------------------------------------
    def prefetch(self, field: FieldDefinition, texts: Iterable[Any]) -> None:
        """Look up every distinct text of a relation column at once (other fields: no-op).

        ``texts`` are the column's cells (or their text); a ``many`` relation's cells are
        split into the items they list."""
        if registry.canonical(field.type) != "relation":
            return
        target = _target(field)
        many = bool(field.option("many"))
        distinct: set[str] = set()
        for cell in texts:
            if cell is None:
                continue
            text = cell_text(cell)  # a cell as given, or text already
            if text:
                distinct.update(split_cell(text) if many else (text,))
        known = {key[2] for key in self._relations if key[:2] == target}
        wanted = sorted(distinct - known)
        if wanted:
            self._look_up(field, target, wanted)

    def relation(self, field: FieldDefinition, text: str) -> int:
        """The id of the one record of the target form ``text`` names; CellError else."""
        target = _target(field)
        text = text.strip()
        found = self._relations.get((*target, text))
        if found is None:
            self._look_up(field, target, [text])
            found = self._relations[(*target, text)]
        if isinstance(found, CellError):
            raise found
        return found

    def _look_up(self, field: FieldDefinition, target: tuple[str, str], texts: list[str]) -> None:
        form_key, display = target
        definition = self._tx.form(form_key).definition
        keys = lookup_fields(definition, display or None, self._hidden(definition))
        source = self._tx.source(form_key, self._access.scope(form_key, "read"))
        ids: dict[str, set[int]] = {text: set() for text in texts}
        for key in keys:
            values = _comparable(definition, key, texts)
            wanted = list(values)
            for start in range(0, len(wanted), CHUNK):
                chunk = wanted[start : start + CHUNK]
                for row in _rows(source, key, chunk):
                    for text in values.get(row.get(key), ()):
                        ids[text].add(int(row["id"]))
        name = definition.name.get("en" if self._en else "zh-CN")
        by = _names(definition, keys, self._en)
        for text, found in ids.items():
            if len(found) == 1:
                self._relations[(*target, text)] = next(iter(found))
            else:
                self._relations[(*target, text)] = self._relation_error(
                    shown_cell(text), name, by, len(found)
                )

    def _hidden(self, definition: FormDefinition) -> frozenset[str]:
        return self._access.hidden(definition, "read")

    def _relation_error(self, text: str, form: str, by: str, count: int) -> CellError:
        if count == 0:
            if self._en:
                return CellError(f"no {form} record has {text!r} as its {by}", "not_found")
            return CellError(f"没有{by}为“{text}”的{form}记录", "not_found")
        if self._en:
            return CellError(
                f"{text!r} is not unique: {count} {form} records have it as their {by}; "
                "use a field that is unique",
                "ambiguous",
            )
        return CellError(
            f"“{text}”不唯一，有 {count} 条{form}记录的{by}是它，请改用唯一的字段", "ambiguous"
        )

    # -- the organisation ---------------------------------------------------------------
    def prepare_org(self, field: FieldDefinition) -> None:
        """Read the people or codes a user/department/region/dealer field may name now
        (conversions after this need no query)."""
        kind = registry.canonical(field.type)
        if kind in _ORG_KINDS and kind not in self._org:
            self._org[kind] = self._directory(kind)

    def org(self, field: FieldDefinition, text: str) -> str:
        """The login (user) or code (department, region, dealer) ``text`` names."""
        kind = registry.canonical(field.type)
        text = text.strip()
        if kind not in self._org:
            self._org[kind] = self._directory(kind)
        directory = self._org[kind]
        if directory is None:
            return text
        codes, names = directory
        code = codes.get(text)
        if code is not None:
            return code
        found = names.get(_folded(text), [])
        if len(found) == 1:
            return found[0]
        raise self._org_error(kind, shown_cell(text), len(found))

    def _directory(self, kind: str) -> tuple[dict[str, str], dict[str, list[str]]] | None:
        if not self._tx.has_people():
            return None
        pairs = _allowed(self._tx, self._access, kind)
        codes = {code: code for code, _name in pairs}
        for code, _name in pairs:
            codes.setdefault(_folded(code), code)  # P001 typed as p001
        names: dict[str, list[str]] = {}
        for code, name in pairs:
            if name:
                names.setdefault(_folded(name), []).append(code)
        return codes, names

    def _org_error(self, kind: str, text: str, count: int) -> CellError:
        en_what, zh_what = _ORG_WORDS[kind]
        if count == 0:
            if self._en:
                return CellError(f"no {en_what} is called {text!r}", "not_found")
            return CellError(f"没有名称或编号为“{text}”的{zh_what}", "not_found")
        if self._en:
            return CellError(
                f"{count} {en_what}s are called {text!r}: write the "
                f"{'login' if kind == 'user' else 'code'} instead",
                "ambiguous",
            )
        return CellError(
            f"名称为“{text}”的{zh_what}不唯一，有 {count} 个，请改填"
            f"{'登录名' if kind == 'user' else '编码'}",
            "ambiguous",
        )


_ORG_WORDS = {
    "user": ("user", "用户"),
    "department": ("department", "部门"),
    "region": ("region", "区域"),
    "dealer": ("dealer", "经销商"),
}


def _target(field: FieldDefinition) -> tuple[str, str]:
    """What a relation's texts are looked up in: the target form and its display field
    (two relations to one form may show different fields)."""
    display = field.option("display")
    return str(field.option("to")), display if isinstance(display, str) else ""


def lookup_fields(form: FormDefinition, display: Any, hidden: frozenset[str]) -> list[str]:
    """The fields of ``form`` a relation's text is matched against: its display field
    (the title when it names none) and every single-field unique rule or serial number,
    leaving out what the importer may not see."""
    shown = display if isinstance(display, str) and form.has_field(display) else None
    keys = [shown if shown is not None and _plain(form.field(shown)) else TITLE]
    for rule in form.unique:
        if len(rule.fields) == 1 and form.has_field(rule.fields[0]):
            keys.extend(k for k in rule.fields if _plain(form.field(k)))
    keys.extend(f.key for f in form.fields if registry.canonical(f.type) == "serial")
    return [k for k in dict.fromkeys(keys) if k not in hidden]


def _plain(field: FieldDefinition) -> bool:
    return registry.canonical(field.type) in LOOKUP_TYPES and not field.option("many")


def _comparable(form: FormDefinition, key: str, texts: list[str]) -> dict[Any, list[str]]:
    """Stored value -> the texts that mean it, for the texts ``key`` could hold.

    A text the field itself would refuse (a SKU outside its pattern, a word in a number
    field) cannot match and is left out, so it never makes the whole filter fail.
    """
    out: dict[Any, list[str]] = {}
    if key == TITLE:
        for text in texts:
            for variant in _variants(text):
                out.setdefault(variant, []).append(text)
        return out
    field = form.field(key)
    kind = registry.get(field.type)
    coerce = kind.coercer(field)
    (column,) = (spec.name(key) for spec in kind.columns(field))
    for text in texts:
        for variant in _variants(text):
            try:
                value = coerce(variant, "json")
            except FieldValueError:
                continue
            if value is None:
                continue
            stored = kind.to_storage(field, value).get(column)
            if text not in out.get(stored, ()):
                out.setdefault(stored, []).append(text)
    return out


def _variants(text: str) -> tuple[str, ...]:
    """The text as typed and, when it differs, in half width (ＳＫＵ typed in a Chinese
    input method names SKU): a record stored either way is found."""
    folded = unicodedata.normalize("NFKC", text).strip()
    return (text,) if folded == text else (text, folded)


def _rows(source: Any, key: str, values: list[Any]) -> Iterable[Mapping[str, Any]]:
    """The live, visible rows whose ``key`` is one of ``values`` (paged: a value may be
    shared by several records, which is what makes it ambiguous)."""
    page = 1
    while True:
        found = source.page(
            filters=[(key, "in", values)], page=page, page_size=MAX_PAGE_SIZE, with_total=False
        )
        yield from found.rows
        if len(found.rows) < MAX_PAGE_SIZE:
            return
        page += 1


def _names(form: FormDefinition, keys: list[str], en: bool) -> str:
    """The looked-up fields as the message names them: "名称或SKU"."""
    labels = []
    for key in keys:
        if key == TITLE:
            labels.append("title" if en else "标题")
        else:
            labels.append(form.field(key).label.get("en" if en else "zh-CN"))
    return (" or " if en else "或").join(labels) or ("title" if en else "标题")


#: the field types whose cells name someone or something of the organisation
_ORG_KINDS = frozenset({"user", "department", "region", "dealer"})


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def _allowed(tx: Transaction, access: Access, kind: str) -> list[tuple[str, str]]:
    """(code, name) of what the actor may pick in a ``kind`` field (as org_choices does:
    a dealer's person only within their dealer), disabled users included for internal
    staff: imported history names people who have since left."""
    conn = tx.conn
    principal = access.principal
    if principal.is_external:
        if principal.dealer is None or kind == "department":
            return []
        if kind == "dealer":
            return sorted(names_of(conn, "dealer", [principal.dealer]).items())
        if kind == "region":
            return sorted(names_of(conn, "region", [principal.region or ""]).items())
        dealer = next((d for d in org_lists.dealers(conn) if d["code"] == principal.dealer), {})
        return sorted(names_of(conn, "user", dealer.get("users", ())).items())
    if kind == "user":
        rows, _total = org_lists.users_page(conn, None, 0, MAX_USERS)
        return [(r["login"], r["name"]) for r in rows]
    if kind == "department":
        return [(r["code"], r["name"]) for r in org_lists.departments(conn)]
    if kind == "region":
        return [(r["code"], r["name"]) for r in org_lists.regions(conn)]
    return [(r["code"], r["name"]) for r in org_lists.dealers(conn) if r["active"]]
