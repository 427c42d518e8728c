"""Sign-in over the organisation's users (Flask-Login), sign-out, the language switch,
and the actor every view acts as."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
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
from web.text import LOCALES, pick

blueprint = Blueprint("auth", __name__)


class User(UserMixin):
    """A signed-in person: their login is the session's id."""

    def __init__(self, login: str):
        self.id = login


def service() -> Service:
    return current_app.extensions["lowcode_service"]


@login_manager.user_loader
def load_user(login: str) -> User | None:
    """The user of a session, while they exist and are active (disabling someone signs
    them out everywhere at their next request)."""
    try:
        service().org.acting(login)
    except ServiceError:
        return None
    return User(login)


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
            flash(pick("登录名或密码不正确", "wrong login or password"), "danger")
        else:
            session.clear()
            session["locale"] = found.locale if found.locale in LOCALES else "zh-CN"
            login_user(User(found.user_id))
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
    chosen = request.form.get("locale")
    if chosen in LOCALES:
        session["locale"] = chosen
    return redirect(_safe_next(request.form.get("next")))
