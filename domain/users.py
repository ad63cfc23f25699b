"""Who may use ConnectDesk."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CSR = "csr"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
