"""Admin pages at ``/admin``: users, API tokens, the organisation's trees, installed apps.

Only organisation administrators get in: the service decides (``service.org.is_admin``,
and every call below refuses anyone else too); anybody else gets 404, as if the pages
were not there. A password or a token is shown once, on the answer of the POST that
made it (never put in the session or a redirect), with ``Cache-Control: no-store``.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from engine.service import (
    DefinitionErrors,
    ServiceError,
    load_app,
)
from web.auth import actor, service
from web.extensions import login_manager
from web.text import _

blueprint = Blueprint("admin", __name__, url_prefix="/admin")

PAGE_SIZE = 50
ORG_PAGES = ("departments", "roles", "regions", "dealers")


@blueprint.before_request
def admins_only() -> Any:
    """Signed-in administrators only: others are sent to sign in, or told 404."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not service().org.is_admin(actor()):
        abort(404)
    return None


@blueprint.app_context_processor
def admin_link() -> dict[str, Any]:
    """``is_admin()`` for the navigation bar (asked only when a page shows the bar)."""

    def is_admin() -> bool:
        if not current_user.is_authenticated:
            return False
        try:
            return service().org.is_admin(actor())
        except ServiceError:
            return False

    return {"is_admin": is_admin}


def new_password() -> str:
    """A random password to show once (16 URL-safe characters)."""
    return secrets.token_urlsafe(12)


def _secret(kind: str, login: str, secret: str) -> Any:
    """The page that shows a new password or token once, never cached."""
    answer = make_response(
        render_template("admin_secret.html", kind=kind, login=login, secret=secret)
    )
    answer.headers["Cache-Control"] = "no-store"
    return answer


# -- users -------------------------------------------------------------------------------
@blueprint.route("/")
def index() -> Any:
    return redirect(url_for("admin.users"))


@blueprint.route("/users")
def users() -> Any:
    search = (request.args.get("q") or "").strip()[:100]
    page = request.args.get("page", "1")
    number = int(page) if page.isdigit() and 0 < int(page) <= 100_000 else 1
    found = service().org.list_users(
        actor(), search=search or None, page=number, page_size=PAGE_SIZE
    )
    pages = max(1, -(-found.total // PAGE_SIZE))
    return render_template("admin_users.html", users=found, search=search, pages=pages)


@blueprint.route("/users/new", methods=["GET", "POST"])
def new_user() -> Any:
    me = actor()
    org = service().org
    values = {key: (request.form.get(key) or "").strip() for key in ("login", "name")}
    values["department"] = request.form.get("department") or ""
    values["dealer"] = request.form.get("dealer") or ""
    chosen = request.form.getlist("roles")
    if request.method == "POST":
        password = new_password()
        try:
            org.create_user(
                me,
                values["login"],
                values["name"],
                kind="external" if values["dealer"] else "internal",
                department=values["department"] or None,
                dealer=values["dealer"] or None,
                roles=chosen,
                password=password,
                password_must_change=True,
            )
        except ServiceError as refused:
            flash(str(refused), "danger")
        else:
            return _secret("password", values["login"], password)
    return render_template(
        "admin_user_new.html",
        values=values,
        chosen=set(chosen),
        departments=org.departments(me),
        dealers=org.dealers(me),
        roles=org.roles(me),
    )


@blueprint.route("/users/<login>")
def user(login: str) -> Any:
    me = actor()
    try:
        person = service().org.user(me, login)
        tokens = service().org.list_tokens(me, login)
    except ServiceError:  # no such user (or a malformed login)
        abort(404)
    return render_template("admin_user.html", person=person, tokens=tokens)


@blueprint.route("/users/<login>/active", methods=["POST"])
def set_active(login: str) -> Any:
    enable = request.form.get("active") == "1"
    try:
        service().org.set_active(actor(), login, enable)
    except ServiceError as refused:
        flash(str(refused), "danger")
    else:
        flash(_("Enabled") if enable else _("Disabled"), "success")
    return redirect(url_for("admin.user", login=login))


@blueprint.route("/users/<login>/password", methods=["POST"])
def reset_password(login: str) -> Any:
    password = new_password()
    try:
        service().org.set_password(actor(), login, password, must_change=True)
    except ServiceError as refused:
        flash(str(refused), "danger")
        return redirect(url_for("admin.user", login=login))
    return _secret("password", login, password)


@blueprint.route("/users/<login>/signout-everywhere", methods=["POST"])
def sign_out_everywhere(login: str) -> Any:
    """End every web session of a user (a lost phone, a leaver)."""
    try:
        service().accounts.sign_out_everywhere(actor(), login)
    except ServiceError as refused:
        flash(str(refused), "danger")
    else:
        flash(_("They are signed out on every device"), "success")
    return redirect(url_for("admin.user", login=login))


@blueprint.route("/users/<login>/tokens", methods=["POST"])
def create_token(login: str) -> Any:
    name = (request.form.get("name") or "").strip()
    try:
        token = service().org.create_token(actor(), login, name)
    except ServiceError as refused:
        flash(str(refused), "danger")
        return redirect(url_for("admin.user", login=login))
    return _secret("token", login, token)


@blueprint.route("/users/<login>/tokens/<int:token_id>/revoke", methods=["POST"])
def revoke_token(login: str, token_id: int) -> Any:
    try:
        service().org.revoke_token(actor(), login, token_id)
    except ServiceError as refused:
        flash(str(refused), "danger")
    else:
        flash(_("Token revoked"), "success")
    return redirect(url_for("admin.user", login=login))


# -- the organisation (read-only) -----------------------------------------------------------
@blueprint.route("/org/<kind>")
def org(kind: str) -> Any:
    if kind not in ORG_PAGES:
        abort(404)
    rows = getattr(service().org, kind)(actor())
    return render_template("admin_org.html", kind=kind, rows=rows, kinds=ORG_PAGES)


# -- apps ------------------------------------------------------------------------------------
@blueprint.route("/apps", methods=["GET", "POST"])
def apps() -> Any:
    """Installed apps, and (POST, a folder on the server) a dry run of installing one."""
    me = actor()
    installed = []
    for app in service().list_apps(me):
        forms = [(key, service().get_form(me, app.key, key)) for key in app.forms]
        installed.append((app, forms))
    path = (request.form.get("path") or "").strip()[:1000] if request.method == "POST" else ""
    plan = _dry_run(path) if path else None
    return render_template("admin_apps.html", installed=installed, path=path, plan=plan)


def _dry_run(path: str) -> dict[str, Any]:
    """What installing the app folder ``path`` would do, form by form (nothing changes)."""
    me = actor()
    if not Path(path).exists():
        return {"errors": [_("no such file or folder: %(path)s", path=path)]}
    try:
        app = load_app(path)
    except DefinitionErrors as exc:
        return {"errors": [str(e) for e in exc.errors]}
    except (OSError, ServiceError, ValueError) as exc:
        return {"errors": [str(exc)]}
    forms = []
    try:
        for form in app.forms:
            forms.append(
                {
                    "form": form,
                    "plan": service().plan_form_change(me, app.key, form),
                    "failures": service().check_form_change(me, app.key, form),
                }
            )
    except ServiceError as exc:
        return {"errors": [str(exc)]}
    return {"app": app, "forms": forms}
