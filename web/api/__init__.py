"""The REST API, ``/api/v1``: JSON over the service facade, authenticated by the
organisation's API tokens (``Authorization: Bearer <token>``), never by session cookies,
so the blueprint is exempt from CSRF. Refusals are ``application/problem+json``
(RFC 9457). The OpenAPI 3.1 document of the installed apps is at ``/api/v1/openapi.json``
and a readable page of it at ``/api/v1/docs``. See docs/api.md.
"""

from __future__ import annotations

from web.api.core import blueprint
from web.extensions import csrf

# token-authenticated: a browser's cookies never authorise a change here
csrf.exempt(blueprint)

from web.api import exports, files, flows, imports, openapi, records  # noqa: E402,F401  (routes)

__all__ = ["blueprint"]
