"""What the auth endpoints read and return, and the claims inside a ConnectDesk JWT."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from domain.users import Role


class UserRead(BaseModel):
    """A signed-in user as the API shows them: never the password hash."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    full_name: str
    email: str
    role: Role


class Token(BaseModel):
    """The OAuth2 token response (RFC 6749 §5.1)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")


class SessionCreate(BaseModel):
    """Credentials for a UI sign-in; the password is a SecretStr so it never shows in a repr or log."""

    username: str = Field(min_length=1, max_length=64)
    password: SecretStr = Field(min_length=1, max_length=1024)


class TokenClaims(BaseModel):
    """The claims ConnectDesk signs: who (sub, uid), their role and token version at issue time,
    whether it is an API token or a UI session, and when (issued, expires, password last checked)."""

    sub: str
    uid: int
    role: Role
    ver: int
    kind: Literal["api", "session"]
    iat: int
    exp: int
    auth_time: int


class PasswordChange(BaseModel):
    """A user's own password change: the current password, and the new one (the password policy applies)."""

    current_password: SecretStr = Field(min_length=1, max_length=1024)
    new_password: SecretStr = Field(min_length=1, max_length=1024)
