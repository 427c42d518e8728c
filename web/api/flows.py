"""Approval flows: my tasks and their actions, and the instance actions of a submitter
(withdraw, resubmit, remind) and of any reader (comment)."""

from __future__ import annotations

from typing import Any

from flask import request

from web.api.core import ApiError, actor, answer, blueprint, body, service, whole_number

TASK_ACTIONS = ("approve", "reject", "send-back", "transfer", "add-signer")
INSTANCE_ACTIONS = ("withdraw", "resubmit", "remind", "comment")


@blueprint.get("/tasks")
def list_tasks() -> Any:
    status = request.args.get("status", "pending")
    found = service().flows.tasks(
        actor(),
        status=status,
        app=request.args.get("app") or None,
        page=whole_number("page", request.args.get("page"), default=1, high=1_000_000),
        page_size=whole_number("page_size", request.args.get("page_size"), default=50, high=500),
    )
    return answer({"items": [t.to_json() for t in found.items], "total": found.total})


@blueprint.get("/tasks/<int:task_id>")
def get_task(task_id: int) -> Any:
    """A task with the record as its node shows it (hidden fields left out)."""
    detail = service().flows.task(actor(), task_id)
    return answer(
        {
            "task": detail.task.to_json(),
            "instance": detail.instance.to_json(),
            "values": detail.values,
            "editable": detail.editable,
            "readonly": detail.readonly,
            "comment": detail.comment,
            "signature": detail.signature,
        }
    )


@blueprint.post("/tasks/<int:task_id>/<action>")
def act_on_task(task_id: int, action: str) -> Any:
    if action not in TASK_ACTIONS:
        raise ApiError(
            404,
            f"没有操作 {action}（可用：{', '.join(TASK_ACTIONS)}）",
            f"no action {action!r} (known: {', '.join(TASK_ACTIONS)})",
        )
    data = body(optional=True)
    flows, me = service().flows, actor()
    comment = data.get("comment")
    if action == "approve":
        task = flows.approve(
            me,
            task_id,
            comment=comment,
            changes=data.get("changes"),
            signature=data.get("signature"),
        )
    elif action == "reject":
        task = flows.reject(me, task_id, comment=comment)
    elif action == "send-back":
        task = flows.send_back(me, task_id, to=data.get("to") or "previous", comment=comment)
    elif action == "transfer":
        task = flows.transfer(me, task_id, data.get("to"), comment=comment)
    else:
        task = flows.add_signer(
            me,
            task_id,
            data.get("logins"),
            position=data.get("position") or "after",
            mode=data.get("mode") or "all",
            comment=comment,
        )
    return answer(task.to_json())


@blueprint.get("/apps/<app_key>/instances/<int:instance_id>")
def get_instance(app_key: str, instance_id: int) -> Any:
    return answer(service().flows.instance(actor(), app_key, instance_id).to_json())


@blueprint.post("/apps/<app_key>/instances/<int:instance_id>/<action>")
def act_on_instance(app_key: str, instance_id: int, action: str) -> Any:
    if action not in INSTANCE_ACTIONS:
        raise ApiError(
            404,
            f"没有操作 {action}（可用：{', '.join(INSTANCE_ACTIONS)}）",
            f"no action {action!r} (known: {', '.join(INSTANCE_ACTIONS)})",
        )
    data = body(optional=True)
    flows, me = service().flows, actor()
    if action == "withdraw":
        instance = flows.withdraw(me, app_key, instance_id)
    elif action == "resubmit":
        instance = flows.resubmit(me, app_key, instance_id, changes=data.get("changes"))
    elif action == "remind":
        instance = flows.remind(me, app_key, instance_id)
    else:
        instance = flows.comment(me, app_key, instance_id, data.get("text"))
    return answer(instance.to_json())
