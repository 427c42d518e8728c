"""The workbench: my open tasks with their count, what I submitted lately, and the apps
and forms I may use."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_login import login_required

from web.auth import actor, service

blueprint = Blueprint("workbench", __name__)


@blueprint.route("/")
@login_required
def home() -> Any:
    me = actor()
    pending = service().flows.tasks(me, page_size=10)
    copies = service().flows.tasks(me, status="cc", page_size=1)
    # recent records: the requests I submitted (an indexed read of the flow instances)
    recent = service().flows.started(me, page_size=5)
    apps = []
    for app in service().list_apps(me):
        forms = [(key, service().get_form(me, app.key, key).name) for key in app.forms]
        apps.append((app, forms))
    return render_template(
        "workbench.html", pending=pending, copies=copies.total, recent=recent, apps=apps
    )
