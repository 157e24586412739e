"""Per-source credentials: bearer tokens or basic auth, compared in constant time, never logged."""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass, field

from fastapi import HTTPException, Request, status


@dataclass(frozen=True)
class Credentials:
    """What one source may present: any of these bearer tokens or user/password pairs."""

    tokens: tuple[str, ...] = ()
    basic: tuple[tuple[str, str], ...] = field(default=())

    @property
    def configured(self) -> bool:
        return bool(self.tokens or self.basic)


class SourceAuth:
    """FastAPI dependency: 401 without credentials, 403 with wrong ones.

    A source with nothing configured refuses everyone (403): an open webhook must be a choice
    made in configuration, never an accident of a missing variable.
    """

    def __init__(self, source: str, credentials: Credentials) -> None:
        self.source = source
        self._tokens = [t.encode() for t in credentials.tokens]
        self._basic = [(u.encode(), p.encode()) for u, p in credentials.basic]

    async def __call__(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        scheme, value = scheme.lower(), value.strip()
        realm = self.source
        if not header or scheme not in ("bearer", "basic") or not value:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail=f"{realm}: credentials required (Authorization: Bearer or Basic)",
                headers={"WWW-Authenticate": f'Bearer realm="{realm}", Basic realm="{realm}"'},
            )
        accepted = self._bearer_ok(value) if scheme == "bearer" else self._basic_ok(value)
        if not accepted:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail=f"{self.source}: credentials not accepted"
            )

    def _bearer_ok(self, token: str) -> bool:
        given = token.encode()
        # compare against every configured token, so timing does not reveal which matched
        return any([hmac.compare_digest(given, t) for t in self._tokens])

    def _basic_ok(self, encoded: str) -> bool:
        try:
            user, _, password = base64.b64decode(encoded, validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        matches = [
            hmac.compare_digest(user, u) & hmac.compare_digest(password, p) for u, p in self._basic
        ]
        return any(matches)
