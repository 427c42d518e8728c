"""Password hashing: argon2id through argon2-cffi (salted, slow, constant-time verify).

Only the hash is stored (``org_users.password_hash``); :func:`verify` never raises for a
wrong password or a damaged hash, it answers False. :func:`spend_verify_time` runs a
verification against a fixed hash, so signing in as an unknown login or a user without
a password costs the same time as a wrong password (no timing leak of who exists).
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: the hasher's defaults follow RFC 9106's recommended low-memory profile
HASHER = PasswordHasher()
#: longest password accepted (argon2 takes more, but nobody types this many)
MAX_PASSWORD = 1024


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (a new random salt each time)."""
    return HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash`` (False for a damaged hash too)."""
    try:
        return HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's (rehash on sign-in)."""
    try:
        return HASHER.check_needs_rehash(stored_hash)
    except (InvalidHashError, ValueError):
        return True


@cache
def _decoy_hash() -> str:
    return HASHER.hash("decoy password: never matches anything that signs in")


def spend_verify_time(password: str) -> None:
    """Verify ``password`` against a decoy hash: the time a real check takes, no answer."""
    verify_password(_decoy_hash(), password)
