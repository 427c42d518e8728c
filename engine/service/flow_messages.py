"""What a refused flow action says, in the actor's language."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.errors import FlowActionError
from engine.runtime.flows import FlowRefusal
from engine.store.types import DEFAULT_TZ

MESSAGES: dict[str, tuple[str, str]] = {
    "task_handled": (
        "该任务已由 {by} 于 {at} 处理（{status}）",
        "already handled by {by} at {at} ({status})",
    ),
    "task_not_pending": (
        "该任务当前不可处理（{status}）",
        "this task cannot be acted on now ({status})",
    ),
    "task_unknown": ("任务 {task} 不存在", "there is no task {task}"),
    "not_assignee": (
        "该任务属于 {assignee}，不能由你处理",
        "this task belongs to {assignee}, not to you",
    ),
    "not_running": (
        "流程当前状态为 {status}，不能进行此操作",
        "the flow is {status}: this action is not possible",
    ),
    "suspended": (
        "流程已挂起，请管理员恢复后再处理",
        "the flow is suspended: an administrator must reactivate it first",
    ),
    "finished": ("流程已结束（{status}）", "the flow has ended ({status})"),
    "comment_required": ("节点 {node} 要求填写审批意见", "node {node} requires a comment"),
    "signature_required": ("节点 {node} 要求手写签名", "node {node} requires a signature"),
    "handler_cannot_reject": (
        "办理节点 {node} 不能拒绝，可退回",
        "handler node {node} cannot reject; send it back instead",
    ),
    "no_approver": (
        "节点 {node} 找不到审批人，无法提交；请联系管理员",
        "node {node} has nobody to approve it, so the request cannot be submitted; ask an administrator",
    ),
    "send_back_not_allowed": (
        "不能退回到 {to}，允许：{allowed}",
        "cannot send back to {to}; allowed: {allowed}",
    ),
    "send_back_not_reached": (
        "不能退回到 {to}：该节点尚未经过或不在当前节点之前",
        "cannot send back to {to}: it was not reached before this node",
    ),
    "unknown_node": ("流程没有节点 {node}", "the flow has no node {node}"),
    "not_sent_back": (
        "只有被退回的申请可以重新提交（当前：{status}）",
        "only a request that was sent back can be resubmitted (now: {status})",
    ),
    "already_acted": (
        "已有人处理，不能撤回",
        "someone has already acted: it can no longer be withdrawn",
    ),
    "withdraw_after_approval_not_allowed": (
        "该流程不允许审批通过后撤回",
        "this flow does not allow withdrawing after approval",
    ),
    "withdraw_too_late": (
        "已超过审批通过后 {days} 天的撤回期限",
        "the {days} days for withdrawing after approval have passed",
    ),
    "transfer_to_self": (
        "不能转交给任务的当前处理人",
        "cannot transfer a task to its own assignee",
    ),
    "already_assignee": ("{user} 已是该节点的处理人", "{user} already has a task at this node"),
    "bad_position": (
        "加签位置须为 before、after 或 parallel，而不是 {position}",
        "add-signer position must be before, after or parallel, not {position}",
    ),
    "bad_mode": (
        "加签方式须为 all、any 或 sequential，而不是 {mode}",
        "add-signer mode must be all, any or sequential, not {mode}",
    ),
    "no_new_signer": ("没有新的加签人", "nobody new to add"),
    "not_submitter": (
        "只有发起人 {submitter} 可以这样做",
        "only the submitter {submitter} may do this",
    ),
    "not_admin": ("只有管理员可以这样做", "only an administrator may do this"),
    "no_flow": ("表单 {form} 没有审批流程", "form {form} has no approval flow"),
    "already_submitted": (
        "该记录已在流程中（{status}）",
        "this record is already in a flow ({status})",
    ),
    "in_approval": (
        "记录 {record} 正在审批中，不能修改；请先撤回",
        "record {record} is in approval and cannot be changed; withdraw it first",
    ),
    "not_editable": (
        "字段 {field} 在节点 {node} 不可编辑",
        "field {field} is not editable at node {node}",
    ),
    "choice_missing": ("请为节点 {node} 选择审批人", "choose the approvers of node {node}"),
    "choice_count": (
        "节点 {node} 需选择 {minimum} 到 {maximum} 人",
        "node {node} needs {minimum} to {maximum} people",
    ),
    "choice_unknown": ("{user} 不是可选的审批人", "{user} cannot be chosen"),
    "choice_not_chosen": (
        "节点 {node} 的审批人不由发起人选择",
        "the approvers of node {node} are not chosen by the submitter",
    ),
    "not_suspended": ("流程未挂起（{status}）", "the flow is not suspended ({status})"),
    "unknown_user": ("没有用户 {user}", "there is no user {user}"),
    "not_visible": ("没有找到流程实例 {instance}", "there is no flow instance {instance}"),
}


#: task and instance statuses as people say them
STATUS_NAMES = {
    "approved": ("已同意", "approved"),
    "rejected": ("已拒绝", "rejected"),
    "sent_back": ("已退回", "sent back"),
    "transferred": ("已转交", "transferred"),
    "not_needed": ("无需处理", "no longer needed"),
    "waiting": ("等待中", "waiting"),
    "pending": ("待处理", "pending"),
    "running": ("审批中", "in approval"),
    "suspended": ("已挂起", "suspended"),
    "withdrawn": ("已撤回", "withdrawn"),
    "terminated": ("已终止", "terminated"),
    "cc": ("抄送", "copy"),
    "in_approval": ("审批中", "in approval"),
    "draft": ("草稿", "draft"),
    "active": ("正常", "active"),
}


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(DEFAULT_TZ).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def flow_message(code: str, locale: str, **params: Any) -> str:
    zh, en = MESSAGES.get(code, (code, code))
    template = en if str(locale).startswith("en") else zh
    english = str(locale).startswith("en")
    shown = {k: _text(v) for k, v in params.items() if k != "node_name"}
    name = params.get("node_name")
    if name is not None and hasattr(name, "get"):
        shown["node"] = name.get(locale)  # the node as people know it, not its key
    if "status" in params and params["status"] in STATUS_NAMES:
        shown["status"] = STATUS_NAMES[params["status"]][1 if english else 0]
    try:
        return template.format(**shown)
    except (KeyError, IndexError):
        return template


def flow_error(code: str, locale: str, **params: Any) -> FlowActionError:
    return FlowActionError(flow_message(code, locale, **params), code)


def translated(refusal: FlowRefusal, locale: str) -> FlowActionError:
    return flow_error(refusal.code, locale, **refusal.params)
