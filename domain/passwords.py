"""Passwords: Argon2id hashing through pwdlib's recommended settings, and the password policy."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

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


# ---- the password policy ----------------------------------------------------------------------

COMMON_PASSWORDS_FILE = "common_passwords.txt"


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list of passwords seen most often in breaches, lower-cased (read once, from the package)."""
    text = (files("domain") / "data" / COMMON_PASSWORDS_FILE).read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


@dataclass(frozen=True)
class PasswordPolicy:
    """What a new password must be: long enough, not the username, not a commonly breached one."""

    min_length: int = 12
    max_length: int = 1024

    def problems(self, password: str, *, username: str | None = None) -> list[str]:
        """Why ``password`` is refused, as sentences ending in a full stop; empty when it is acceptable."""
        found: list[str] = []
        if len(password) < self.min_length:
            found.append(f"Use at least {self.min_length} characters (this one has {len(password)}).")
        if len(password) > self.max_length:
            found.append(f"Use at most {self.max_length} characters.")
        if username and password.strip().lower() == username.strip().lower():
            found.append("It must not be the same as the username.")
        if password.lower() in common_passwords() or password.strip().lower() in common_passwords():
            found.append("It is one of the passwords most often used and leaked; choose another.")
        return found
