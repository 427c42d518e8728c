"""The web front: a Flask app over the service facade (``engine.service`` only).

``create_app()`` builds it: configuration from the instance folder and the environment,
the service on the configured database, sign-in over the organisation's users, CSRF on
every state-changing request, security headers, and one blueprint per area. Views parse
input, call the service and render; no SQL and no business rule lives here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from web.config import load_config
from web.extensions import bootstrap, csrf, login_manager
from web.security import install_security


def _limit_sign_in(app: Flask) -> None:
    """Sign-in attempts per address (``SIGN_IN_LIMIT``). One limiter per app: its count
    lives in ``RATELIMIT_STORAGE_URI`` (memory:// per process by default;
    redis://127.0.0.1:6379 shares it between the workers of a server)."""
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address

    limiter = Limiter(get_remote_address, app=app, storage_uri=app.config["RATELIMIT_STORAGE_URI"])
    view = app.view_functions["auth.sign_in"]
    limited = limiter.limit(lambda: str(app.config["SIGN_IN_LIMIT"]), methods=["POST"])(view)
    app.view_functions["auth.sign_in"] = limited


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The Flask app; ``config`` overrides what the instance folder and environment say."""
    app = Flask(__name__, instance_relative_config=True)
    load_config(app, config)
    from engine.service import Service

    service = Service(
        app.config["DATABASE_URL"],
        files_dir=app.config["FILES_DIR"],
    )
    service.check_database()
    # notifications and new accounts are mailed through the web's mail settings
    service.mail_url = app.config.get("MAIL_URL") or ""
    service.mail_from = app.config.get("MAIL_FROM") or "lowcode@localhost"
    app.extensions["lowcode_service"] = service
    bootstrap.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    install_security(app)

    from web import admin, api, auth, forms_view, notifications, records, tasks, workbench

    app.register_blueprint(auth.blueprint)
    app.register_blueprint(workbench.blueprint)
    app.register_blueprint(tasks.blueprint)
    app.register_blueprint(records.blueprint)
    from web import record_steps

    app.register_blueprint(record_steps.blueprint)  # transition and manual-rule buttons
    app.register_blueprint(api.blueprint)  # /api/v1, token-authenticated (no CSRF)
    app.register_blueprint(forms_view.blueprint)
    from web import (
        admin_outbox,  # noqa: F401  (adds /admin/outbox and /admin/jobs)
        batch_jobs,  # noqa: F401  (adds /admin/batch-jobs)
        ledgers,  # noqa: F401  (adds /admin/ledgers, read-only)
    )

    app.register_blueprint(admin.blueprint)  # /admin, organisation admins only
    app.register_blueprint(notifications.blueprint)  # /notifications, one's own messages
    from web import dashboards

    app.register_blueprint(dashboards.blueprint)  # /dashboards: report widgets, drill, xlsx
    from web import portal
    from web.portal.guard import install_guard

    app.register_blueprint(portal.blueprint)  # /portal: the dealer portal (external users)
    install_guard(app)  # dealer users reach only the portal, sign-in and the token API
    from web import imports

    app.register_blueprint(imports.blueprint)  # /apps/<app>/<form>/import: the import pages
    _limit_sign_in(app)
    from web.text import install_text

    install_text(app)
    app.register_error_handler(413, _too_large)
    return app


def _too_large(error: Exception) -> Any:
    """A body over MAX_CONTENT_LENGTH: a page that says so (the API answers problem+json)."""
    from flask import current_app, render_template, request

    from web.api.core import problem

    limit = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
    if request.path.startswith("/api/"):
        return problem(413, f"请求体超过 {limit} MB", f"the request body exceeds {limit} MB")
    return render_template("too_large.html", limit=limit), 413
