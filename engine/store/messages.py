"""Messages of the query and argument checks, one catalogue in zh-CN and en.

Every refusal of a filter, sort, search, page or other argument of the public API is
one entry here, keyed by a stable code, with one template per locale: the person gets
one language (the actor's: ``zh-CN`` by default, ``en``), never a mixed line. Values
the caller gave are echoed through :func:`shorten`, so a 50,000-character string, a
deeply nested list or a lone surrogate never makes a message long or unprintable.
"""

from __future__ import annotations

import reprlib
from types import MappingProxyType
from typing import Any

#: code -> {locale: template}; templates use str.format fields
MESSAGES = MappingProxyType(
    {
        # -- record writes -------------------------------------------------------------
        "record.unique": {
            "zh-CN": "唯一性：{fields} 已被 {holder} 使用",
            "en": "unique: {fields} already used by {holder}",
        },
        "record.unique_unseen": {
            "zh-CN": "唯一性：{fields} 已被另一条记录使用",
            "en": "unique: {fields} already used by another record",
        },
        "record.out_of_scope": {
            "zh-CN": "保存后该记录将超出你可{action}的数据范围（如经销商、区域、部门）",
            "en": "the record would be outside the rows you may {action} (dealer, region, department...)",
        },
        "record.field_locked": {
            "zh-CN": "你不能填写或修改此字段（{access}）",
            "en": "you may not set or change this field ({access})",
        },
        "record.conflict": {
            "zh-CN": "{form} 的记录 {record_id} 已被 {by} 于 {at} 修改（现为第 {version} 版），"
            "请重新打开后再修改",
            "en": "{form} record {record_id} was changed by {by} at {at} (now version "
            "{version}); reload it and apply your change again",
        },
        "record.unique_race": {
            "zh-CN": "{form} 的记录 {record_id}：另一次同时进行的修改占用了它的唯一值，"
            "随后又撤销了，请再保存一次",
            "en": "{form} record {record_id}: a concurrent change took one of its unique "
            "values and was undone again; save once more",
        },
        # -- arguments: what was given and what is expected ------------------------------
        "argument.wrong": {
            "zh-CN": "参数 {argument} 应为 {expected}，收到 {given}",
            "en": "{argument} must be {expected}; got {given}",
        },
        "argument.nul": {
            "zh-CN": "参数 {argument} 含有空字符 (\\x00)，无法保存或查找，请删除它：{given}",
            "en": "{argument} contains a NUL character (\\x00), which cannot be stored or "
            "searched; remove it: {given}",
        },
        "argument.surrogate": {
            "zh-CN": "参数 {argument} 含有不成对的代理字符 ({char})，不是有效的 Unicode 文本，"
            "请以 UTF-8 发送：{given}",
            "en": "{argument} contains an unpaired surrogate ({char}), which is not valid "
            "Unicode text; send it as UTF-8: {given}",
        },
        "argument.too_long": {
            "zh-CN": "参数 {argument} 有 {length} 个字符，最多允许 {limit} 个：{given}",
            "en": "{argument} is {length} characters long; at most {limit} are allowed: {given}",
        },
        "argument.bad_key": {
            "zh-CN": "参数 {argument} 的键应为文本（str），收到 {given}",
            "en": "the keys of {argument} must be text (str); got {given}",
        },
        # -- what an argument should be (filled into argument.wrong) ---------------------
        "expect.whole": {
            "zh-CN": "{low} 到 {high} 之间的整数（int）",
            "en": "a whole number (int) from {low} to {high}",
        },
        "expect.text": {
            "zh-CN": "文本（str）",
            "en": "text (str)",
        },
        "expect.key": {
            "zh-CN": "键（str），如 'purchase'：小写字母、数字和下划线，以字母开头，"
            "最多 {limit} 个字符",
            "en": "a key (str) such as 'purchase': lower-case letters, digits and _, "
            "starting with a letter, at most {limit} characters",
        },
        "expect.field_path": {
            "zh-CN": "字段键（str），如 'quote' 或明细列 'lines.photo'",
            "en": "a field key (str) such as 'quote', or 'lines.photo' for a sub-table column",
        },
        "expect.search": {
            "zh-CN": "要查找的文本（str）或 None",
            "en": "the text to look for (str) or None",
        },
        "expect.sort": {
            "zh-CN": "字段键（如 'name'、'-total'）或其列表",
            "en": "a field key such as 'name' or '-total', or a list of them",
        },
        "expect.filters": {
            "zh-CN": "筛选条件的列表：Filter(field, op, value)、(field, op[, value]) 或 "
            "{{'field': ..., 'op': ..., 'value': ...}}",
            "en": "a list of filters: Filter(field, op, value), (field, op[, value]) or "
            "{{'field': ..., 'op': ..., 'value': ...}}",
        },
        "expect.mapping": {
            "zh-CN": "字段键到值的映射（dict）",
            "en": "a mapping of field key -> value (dict)",
        },
        "expect.actor": {
            "zh-CN": "Actor 对象（engine.service.Actor，user_id 为文本）",
            "en": "an Actor (engine.service.Actor) whose user_id is text",
        },
        "expect.bool": {
            "zh-CN": "True 或 False",
            "en": "True or False",
        },
        "expect.choice": {
            "zh-CN": "以下之一：{choices}",
            "en": "one of {choices}",
        },
        "expect.definition": {
            "zh-CN": "{kind}（用 load_app 或 load_app_text 读取）",
            "en": "{article} {kind} (read it with load_app or load_app_text)",
        },
        "expect.stream": {
            "zh-CN": "以二进制方式打开的文件（有 read() 方法）",
            "en": "a file opened in binary mode (with a read() method)",
        },
        # -- queries -------------------------------------------------------------------
        "query.filter_shape": {
            "zh-CN": "筛选条件 {argument} 应为 (field, op[, value])、"
            "{{'field': ..., 'op': ..., 'value': ...}} 或 Filter，收到 {given}",
            "en": "filter {argument} must be (field, op[, value]), "
            "{{'field': ..., 'op': ..., 'value': ...}} or a Filter; got {given}",
        },
        "query.filter_keys": {
            "zh-CN": "筛选条件 {argument} 需要键 'field' 和 'op'（可选 'value'），收到键 {keys}",
            "en": "filter {argument} needs the keys 'field' and 'op' (and 'value' when the "
            "operator takes one); got the keys {keys}",
        },
        "query.unknown_operator": {
            "zh-CN": "筛选 {field}：未知的运算符 {op}{hint}；可用：{known}",
            "en": "filter on {field}: unknown operator {op}{hint}; use one of {known}",
        },
        "query.not_relation": {
            "zh-CN": "{path}：{head} 不是表单 {form} 的单值关联字段{where}，无法沿它继续{hint}",
            "en": "{path}: {head} is not a single relation of form {form}{where}, "
            "so it cannot be followed{hint}",
        },
        "query.reached_through": {
            "zh-CN": "（经由 {path}）",
            "en": " (reached through {path})",
        },
        "query.no_field": {
            "zh-CN": "表单 {form} 没有字段 {head}{where}{hint}",
            "en": "form {form} has no field {head}{where}{hint}",
        },
        "query.in_filter": {
            "zh-CN": "（筛选 {path}）",
            "en": " (filter {path})",
        },
        "query.several_columns": {
            "zh-CN": "{path}：字段 {head} 存储在多列中，请筛选其中一列",
            "en": "{path}: field {head} is stored in several columns; filter one of them",
        },
        "query.text_needed": {
            "zh-CN": "筛选 {field} {op}：请给出要查找的文本",
            "en": "filter {field} {op}: give the text to look for",
        },
        "query.text_type": {
            "zh-CN": "筛选 {field} {op}：要查找的应为文本或数字，收到 {given}",
            "en": "filter {field} {op}: the text to look for must be text or a number; got {given}",
        },
        "query.two_values": {
            "zh-CN": "筛选 {field} between：请给出两个值 [下限, 上限]",
            "en": "filter {field} between: give two values [low, high]",
        },
        "query.too_many_values": {
            "zh-CN": "筛选 {field} {op}：最多 {limit} 个值，收到 {count} 个",
            "en": "filter {field} {op}: at most {limit} values are allowed; got {count}",
        },
        "query.value": {
            "zh-CN": "筛选 {field} {op} {given}：{reason}",
            "en": "filter {field} {op} {given}: {reason}",
        },
        "expect.filter_value": {
            "zh-CN": "应为文本、数字、日期或它们的列表",
            "en": "expected text, a number, a date or a list of them",
        },
        "query.one_value": {
            "zh-CN": "请只给出一个值，而不是列表",
            "en": "give one value, not a list",
        },
        "query.whole": {
            "zh-CN": "应为整数",
            "en": "expected a whole number",
        },
        "query.text": {
            "zh-CN": "应为文本",
            "en": "expected text",
        },
        "query.datetime": {
            "zh-CN": "应为日期时间，如 2026-01-05T10:00",
            "en": "expected a date and time such as 2026-01-05T10:00",
        },
        "query.out_of_range": {
            "zh-CN": "筛选 {field} {op} {given}：超出该列可保存的范围（{low} 到 {high}）",
            "en": "filter {field} {op} {given}: outside the range the column holds "
            "({low} to {high})",
        },
        "query.json_operator": {
            "zh-CN": "筛选 {field} {op}：该字段保存的是列表，只能用 blank 或 not_blank 筛选",
            "en": "filter {field} {op}: the field holds a list; filter it with blank or "
            "not_blank only",
        },
        "query.cannot_sort": {
            "zh-CN": "表单 {form} 不能按 {name} 排序{hint}",
            "en": "cannot sort form {form} by {name}{hint}",
        },
        "query.unordered": {
            "zh-CN": "：该字段保存的是列表或存储在多列中，没有顺序",
            "en": ": the field holds a list or is stored in several columns, which has no order",
        },
        "query.did_you_mean": {
            "zh-CN": "（是否想输入 {word}？）",
            "en": " (did you mean {word}?)",
        },
    }
)

_SHORT = reprlib.Repr()
_SHORT.maxstring = 40
_SHORT.maxother = 40
_SHORT.maxlong = 30
_SHORT.maxlevel = 2
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 4


def locale_key(locale: object) -> str:
    """``en``/``en-US``... -> ``en``; anything else (Chinese, unknown, not text) -> ``zh-CN``."""
    return "en" if isinstance(locale, str) and locale.startswith("en") else "zh-CN"


def message(code: str, locale: object, **params: Any) -> str:
    """The catalogue entry ``code`` in ``locale``, with ``params`` filled in."""
    return MESSAGES[code][locale_key(locale)].format(**params)


def shorten(value: object) -> str:
    """A short, printable rendering of any value a caller passed, for echoing in a message.

    Long text is cut (``'aaaa...'``), nesting below two levels shown as ``[...]``,
    control characters and lone surrogates escaped (it is a ``repr``); never raises,
    whatever the value (a huge int, an object whose ``__repr__`` fails).
    """
    if isinstance(value, int) and value.bit_length() > 128:
        # str() refuses ints over 4300 digits; and no person reads forty of them anyway
        return f"<int of about {int(value.bit_length() * 0.30103) + 1} digits>"
    try:
        text = _SHORT.repr(value)
    except Exception:  # a repr that fails (or an int too long to print) still gets named
        text = f"<{type(value).__name__}>"
    if isinstance(value, str) and len(value) > _SHORT.maxstring:
        text += f" ({len(value)} characters)"
    return text
