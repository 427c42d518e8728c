"""Security headers on every answer: a Content Security Policy without inline script,
no framing, no MIME sniffing, no referrer leaks."""

from __future__ import annotations

from flask import Flask, Response

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'"
)


def install_security(app: Flask) -> None:
    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


def local_path(target: str | None) -> str | None:
    """``target`` when it is a path of this site, else None (no open redirects).

    Browsers read ``//host``, ``/\\host`` and ``/<tab>/host`` as another host, so only a
    single leading slash followed by a visible character that is not a slash or
    backslash passes, and no control character or backslash anywhere.
    """
    if not target or not target.startswith("/") or len(target) > 2000:
        return None
    if any(ch == "\\" or ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    if len(target) > 1 and target[1] == "/":
        return None
    return target
