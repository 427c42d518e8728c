"""API tokens: long random secrets shown once, stored only as their SHA-256.

A token reads ``lc_`` followed by 43 URL-safe characters (``secrets.token_urlsafe(32)``:
256 random bits), so it is recognisable in a leaked log or a secret scanner. The store
keeps its SHA-256 in hex (a slow hash is not needed: the secret is not guessable) and a
short display prefix (``lc_AbCdEfG``) that names it in lists but is useless to sign in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

TOKEN_PREFIX = "lc_"
#: characters of the token kept for display (the ``lc_`` marker and 7 more)
DISPLAY_LENGTH = 10
#: longest text that can be a token (anything longer is refused without hashing)
MAX_TOKEN = 200


@dataclass(frozen=True)
class NewToken:
    """A freshly made token: ``secret`` is shown once, ``digest`` and ``prefix`` stored."""

    secret: str
    digest: str
    prefix: str


def new_token() -> NewToken:
    """A new random token with its stored digest and display prefix."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return NewToken(secret, token_digest(secret), secret[:DISPLAY_LENGTH])


def token_digest(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(value: object) -> bool:
    """Cheap shape check before any lookup: text starting ``lc_``, of sensible length."""
    return (
        isinstance(value, str)
        and value.startswith(TOKEN_PREFIX)
        and len(value) <= MAX_TOKEN
        and value.isascii()
    )
