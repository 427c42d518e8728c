"""One guard keeps dealer users (external principals) out of the internal pages.

A signed-in external user reaches only the portal (``/portal``), signing in and out,
the language switch, their own account (password) and the static files; every other
page of the site (the workbench, ``/tasks``, ``/f``, ``/l``, ``/r``, ``/admin``,
``/dashboards``, ``/notifications``, the API documentation...) answers 404, exactly
like a page that does not exist: no menu hides links, the page is not there for them.

The REST API under ``/api/v1`` authenticates by token, never by this session, and
scopes every row by the token's user, so a dealer's token reads and writes what the
dealer may (docs/portal.md); only its documentation pages, which a session may read,
are internal.

A redirect the site answers to an external user (after signing in, after a password
change) that would lead to an internal page leads to the portal's home instead.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from web.portal.common import is_external

#: endpoints an external user may reach besides the portal's own
OPEN_ENDPOINTS = frozenset(
    {
        "auth.sign_in",
        "auth.sign_out",
        "auth.switch_locale",
        "auth.account",
        "auth.change_password",
        "auth.sign_out_everywhere",
        "static",
        "bootstrap.static",
    }
)
#: API endpoints a browser session may read: staff documentation
INTERNAL_API = frozenset({"api.openapi_document", "api.docs"})


def allowed(endpoint: str | None) -> bool:
    """Whether an external user may reach ``endpoint``."""
    if not endpoint:
        return True  # no route: the ordinary 404
    if endpoint.startswith("portal.") or endpoint in OPEN_ENDPOINTS:
        return True
    return endpoint.startswith("api.") and endpoint not in INTERNAL_API


def install_guard(app: Flask) -> None:
    """Register the guard's before- and after-request hooks on ``app``."""
    app.before_request(_keep_out)
    app.after_request(_land_in_portal)
    app.context_processor(_layout_flags)


def _layout_flags() -> dict[str, Any]:
    """``external_user()`` for the internal layout (web/templates/base.html): the pages a
    dealer user may reach there (their account) show the portal's links instead of
    menu entries that would answer them 404."""
    return {"external_user": is_external}


def _keep_out() -> Any:
    """404 for an internal page asked by a signed-in external user."""
    if allowed(request.endpoint) or not is_external():
        return None
    return render_template("portal/not_found.html"), 404


def _land_in_portal(response: Response) -> Response:
    """Send an external user who is redirected to an internal page to the portal."""
    if not 300 <= response.status_code < 400 or not response.location:
        return response
    if request.endpoint and request.endpoint.startswith("api."):
        return response
    target = urlsplit(response.location)
    if target.netloc and target.netloc != request.host:
        return response
    if allowed(_endpoint_of(target.path)) or not is_external():
        return response
    response.location = url_for("portal.home")
    return response


def _endpoint_of(path: str) -> str | None:
    """The endpoint a path of this site routes to (None when none does)."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        endpoint, _values = adapter.match(path, method="GET")
    except HTTPException:
        return None
    return endpoint
