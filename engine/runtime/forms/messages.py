"""The runtime's own messages to the person filling a form, in zh-CN and en.

One table keyed by the error code, so the web layer and the tests see the same stable
codes and the wording lives in one place.
"""

from __future__ import annotations

from types import MappingProxyType

from engine.definitions.model import I18nText

_MESSAGES = MappingProxyType(
    {
        "unknown_field": I18nText(
            "表单中没有字段 “{key}”{hint_zh}，请删除该项", "This form has no field '{key}'{hint_en}"
        ),
        "system_field": I18nText(
            "“{key}” 由系统维护，提交时请不要包含", "'{key}' is set by the engine; leave it out"
        ),
        "rows_type": I18nText(
            "明细 “{label_zh}” 应为行的列表（每行一个对象）",
            "'{label_en}' expects a list of rows, one object per row",
        ),
        "row_type": I18nText(
            "该行应为对象（字段名: 值）", "Each row must be an object of field: value"
        ),
        "row_id": I18nText(
            "行编号 {row_id} 不属于此记录，新增的行请不要带 id",
            "Row id {row_id} does not belong to this record; leave 'id' out for new rows",
        ),
        "required": I18nText("“{label_zh}” 为必填项", "'{label_en}' is required"),
        "min_rows": I18nText(
            "“{label_zh}” 至少需要 {count} 行", "'{label_en}' needs at least {count} row(s)"
        ),
        "max_rows": I18nText(
            "“{label_zh}” 最多允许 {count} 行", "'{label_en}' allows at most {count} row(s)"
        ),
        "not_found": I18nText(
            "所选记录（编号 {record_id}）不存在或无权查看，请重新选择",
            "The selected record (id {record_id}) does not exist or is not visible; choose another",
        ),
        "filter": I18nText(
            "“{label_zh}” 不能选择 {record}：它不符合条件 {condition}，请重新选择",
            "'{label_en}' cannot be {record}: it does not match {condition}; choose another",
        ),
        "filter_expression": I18nText(
            "“{label_zh}” 的筛选条件无法计算：{detail}",
            "The filter of '{label_en}' could not be checked: {detail}",
        ),
        "option": I18nText(
            "“{value}” 不是 “{label_zh}” 的可选项（选项来自表单 {form}），请从列表中选择",
            "'{value}' is not one of the options of '{label_en}' (taken from the {form} form); "
            "pick one from the list",
        ),
        "expression": I18nText(
            "“{label_zh}” 的{what_zh}无法计算：{detail}",
            "The {what_en} of '{label_en}' could not be computed: {detail}",
        ),
        "validation_expression": I18nText(
            "校验规则无法计算：{detail}", "A validation rule could not be computed: {detail}"
        ),
        "budget": I18nText(
            "提交的数据检查耗时过长，未保存任何内容。请减少明细行数、"
            "分批提交，或请管理员简化表单的公式",
            "Checking this submission took too long and nothing was "
            "saved. Submit fewer rows (or in several parts), or ask the admin to simplify "
            "the form's formulas",
        ),
        "serial": I18nText(
            "“{label_zh}” 由系统自动编号，请不要填写",
            "'{label_en}' is numbered by the engine; leave it out",
        ),
        "serial_changed": I18nText(
            "“{label_zh}” 是已分配的编号（{stored}），不能修改",
            "'{label_en}' is an issued number ({stored}) and cannot be changed",
        ),
    }
)

#: what an expression was for, used in the "expression" message
PURPOSE = MappingProxyType(
    {
        "formula": ("公式", "formula"),
        "default_expr": ("默认值", "default"),
        "visible_if": ("显示条件", "visible_if condition"),
        "required_if": ("必填条件", "required_if condition"),
        "readonly_if": ("只读条件", "readonly_if condition"),
    }
)


def message(code: str, locale: str, label: I18nText | None = None, **params: object) -> str:
    """The runtime message for ``code`` in ``locale``, with the field label filled in."""
    if label is not None:
        params.setdefault("label_zh", label.zh_cn)
        params.setdefault("label_en", label.en)
    return _MESSAGES[code].get(locale).format(**params)


#: how a row error names its row (1-based, as people count)
_ROW = I18nText("第 {row} 行：{text}", "Row {row}: {text}")


def row_message(locale: str, row: int, text: str) -> str:
    """``text`` about row ``row`` (1-based): ``第 2 行：...`` / ``Row 2: ...``."""
    return _ROW.get(locale).format(row=row, text=text)


def expression_message(purpose: str, locale: str, label: I18nText, detail: str) -> str:
    """Explains which expression of which field failed at run time and why."""
    what_zh, what_en = PURPOSE[purpose]
    return message("expression", locale, label, what_zh=what_zh, what_en=what_en, detail=detail)
