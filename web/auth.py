"""Sign-in over the organisation's users (Flask-Login), sign-out, the language switch,
and the actor every view acts as."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from engine.service import Actor, Service, ServiceError
from web.extensions import login_manager
from web.security import local_path
from web.text import LOCALES, _

blueprint = Blueprint("auth", __name__)


class User(UserMixin):
    """A signed-in person: their login is the session's id."""

    def __init__(self, login: str):
        self.id = login


def service() -> Service:
    return current_app.extensions["lowcode_service"]


@login_manager.user_loader
def load_user(login: str) -> User | None:
    """The user of a session while they exist, are active and the session carries their
    current session epoch (disabling someone, "sign out everywhere" and a new password
    each end their other sessions at the next request)."""
    try:
        state = service().accounts.session_state(login)
    except ServiceError:
        return None
    if state is None or session.get("epoch") != state.epoch:
        return None
    g.password_must_change = state.password_must_change
    return User(login)


#: what someone who must change their password may still reach
_BEFORE_NEW_PASSWORD = frozenset(
    {"auth.change_password", "auth.sign_out", "auth.switch_locale", "static", "bootstrap.static"}
)


@blueprint.before_app_request
def _require_new_password() -> Any:
    """A password an administrator generated must be replaced before anything else."""
    endpoint = request.endpoint or ""
    if endpoint in _BEFORE_NEW_PASSWORD or endpoint.startswith("api."):
        return None
    if current_user.is_authenticated and g.get("password_must_change"):
        return redirect(url_for("auth.change_password", next=request.full_path.rstrip("?")))
    return None


def actor() -> Actor:
    """The signed-in person as the service's actor, in their language."""
    return Actor(current_user.id, locale=session.get("locale", "zh-CN"))


class SignInForm(FlaskForm):
    login = StringField(validators=[DataRequired(), Length(max=64)])
    password = PasswordField(validators=[DataRequired(), Length(max=1024)])


@blueprint.route("/signin", methods=["GET", "POST"])
def sign_in() -> Any:
    """Sign in (rate-limited per address: web/__init__.py ``_limit_sign_in``)."""
    form = SignInForm()
    if form.validate_on_submit():
        try:
            found = service().org.authenticate(form.login.data, form.password.data)
        except ServiceError:
            found = None
        if found is None:
            flash(_("wrong login or password"), "danger")
        else:
            state = service().accounts.session_state(found.user_id)
            session.clear()
            session["locale"] = found.locale if found.locale in LOCALES else "zh-CN"
            session["epoch"] = state.epoch if state is not None else -1
            login_user(User(found.user_id))
            if state is not None and state.password_must_change:
                flash(_("Choose your own password first"), "warning")
                return redirect(url_for("auth.change_password", next=request.args.get("next")))
            return redirect(_safe_next(request.args.get("next")))
    return render_template("signin.html", form=form)


def _safe_next(target: str | None) -> str:
    """Only a path of this site (never another host) after signing in."""
    return local_path(target) or url_for("workbench.home")


@blueprint.route("/signout", methods=["POST"])
@login_required
def sign_out() -> Any:
    logout_user()
    session.clear()
    return redirect(url_for("auth.sign_in"))


@blueprint.route("/locale", methods=["POST"])
def switch_locale() -> Any:
    """Switch the pages' language; a signed-in person keeps the choice on their account."""
    chosen = request.form.get("locale")
    if chosen in LOCALES:
        session["locale"] = chosen
        if current_user.is_authenticated:
            service().accounts.set_locale(actor(), chosen)
    return redirect(_safe_next(request.form.get("next")))


class PasswordForm(FlaskForm):
    current = PasswordField(validators=[DataRequired(), Length(max=1024)])
    password = PasswordField(validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(validators=[DataRequired(), Length(max=1024)])


@blueprint.route("/account", methods=["GET"])
@login_required
def account() -> Any:
    """The signed-in person's account: password, language, sign out everywhere."""
    return render_template("account.html", form=PasswordForm(), must_change=False)


@blueprint.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    """Choose a new password (required first after an administrator generated one)."""
    form = PasswordForm()
    if form.validate_on_submit():
        if form.password.data != form.confirm.data:
            form.confirm.errors.append(_("the two new passwords differ"))
        else:
            try:
                epoch = service().accounts.change_password(
                    actor(), form.current.data, form.password.data
                )
            except ServiceError as refused:
                place = (
                    form.current
                    if getattr(refused, "argument", "") == "current_password"
                    else form.password
                )
                place.errors.append(str(refused))
            else:
                # this session carries on; every other one ends
                session["epoch"] = epoch
                g.password_must_change = False
                flash(
                    _(
                        "Password changed; other devices are signed out",
                    ),
                    "success",
                )
                return redirect(_safe_next(request.args.get("next")))
    must_change = bool(g.get("password_must_change"))
    return render_template("account.html", form=form, must_change=must_change), (
        400 if form.errors else 200
    )


@blueprint.route("/account/signout-everywhere", methods=["POST"])
@login_required
def sign_out_everywhere() -> Any:
    """End every session of the signed-in person, this one included."""
    service().accounts.sign_out_everywhere(actor())
    logout_user()
    session.clear()
    flash(_("Signed out on every device"), "success")
    return redirect(url_for("auth.sign_in"))
