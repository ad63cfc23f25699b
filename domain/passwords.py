"""Password hashing for sign-in: Argon2id through pwdlib's recommended settings."""

from __future__ import annotations

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError

_hasher = PasswordHash.recommended()


def hash_password(password: str) -> str:
    """A salted Argon2id hash of ``password`` (a new salt every call, so two hashes never match)."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    """True when ``password`` matches ``password_hash``; False for a wrong password or an unknown hash format."""
    try:
        return _hasher.verify(password, password_hash)
    except UnknownHashError:
        return False
