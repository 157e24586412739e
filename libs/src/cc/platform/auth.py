"""Bearer-token roles for the HTTP APIs: viewer < operator < approver < admin.

Tokens come from a file of `name:role:token` lines (mounted from a Secret) or, optionally, are
HS256 JWTs signed with a shared secret and carrying `sub`, `role` and `exp`. Tokens are compared
in constant time and never logged.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer


class Role(StrEnum):
    """What a person may do; each role includes the ones before it."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    APPROVER = "approver"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Position in viewer < operator < approver < admin."""
        return list(Role).index(self)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    name: str
    role: Role


class TokenFileError(ValueError):
    """The token file is invalid; the message names the source and line."""


@dataclass(frozen=True)
class _Entry:
    token: bytes
    principal: Principal


class TokenTable:
    """Known tokens (and optionally a JWT secret) mapped to principals."""

    def __init__(self, entries: list[tuple[str, Principal]], jwt_secret: str | None = None):
        self._entries = [_Entry(token.encode(), principal) for token, principal in entries]
        self._jwt_secret = jwt_secret

    @classmethod
    def parse(cls, text: str, source: str, jwt_secret: str | None = None) -> TokenTable:
        """Read `name:role:token` lines; `#` starts a comment."""
        entries: list[tuple[str, Principal]] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split(":", 2)
            if len(parts) != 3 or not all(p.strip() for p in parts):
                raise TokenFileError(f"{source}:{number}: expected name:role:token")
            name, role, token = (p.strip() for p in parts)
            if role not in Role.__members__.values():
                allowed = ", ".join(r.value for r in Role)
                raise TokenFileError(f"{source}:{number}: role {role!r} is not one of {allowed}")
            if len(token) < 16:
                raise TokenFileError(f"{source}:{number}: token must be at least 16 characters")
            entries.append((token, Principal(name, Role(role))))
        return cls(entries, jwt_secret)

    @classmethod
    def from_file(cls, path: Path, jwt_secret: str | None = None) -> TokenTable:
        """Read a token file (see `parse`)."""
        return cls.parse(path.read_text(), str(path), jwt_secret)

    def authenticate(self, token: str) -> Principal | None:
        """The principal a token stands for, or None."""
        given = token.encode()
        found: Principal | None = None
        for entry in self._entries:  # no early exit: the time taken does not depend on a match
            if hmac.compare_digest(entry.token, given):
                found = entry.principal
        if found is None and self._jwt_secret and token.count(".") == 2:
            found = self._from_jwt(token)
        return found

    def _from_jwt(self, token: str) -> Principal | None:
        assert self._jwt_secret is not None
        try:
            claims = jwt.decode(
                token, self._jwt_secret, algorithms=["HS256"], options={"require": ["exp", "sub"]}
            )
        except jwt.PyJWTError:
            return None
        role = str(claims.get("role"))
        if role not in Role.__members__.values():
            return None
        return Principal(str(claims["sub"]), Role(role))


_bearer = HTTPBearer(auto_error=False, description="Bearer token (token file entry or JWT)")


def require_role(table: TokenTable, minimum: Role) -> Callable[..., Principal]:
    """A FastAPI dependency: 401 without a known token, 403 below `minimum`."""

    def dependency(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        principal = table.authenticate(credentials.credentials)
        if principal is None:
            raise HTTPException(
                401,
                "unknown or expired token",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if principal.role.rank < minimum.rank:
            raise HTTPException(
                403, f"role {principal.role.value} may not do this; needs {minimum.value} or above"
            )
        return principal

    return dependency
