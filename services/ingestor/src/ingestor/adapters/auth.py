"""Per-source credentials: bearer token compared in constant time, never logged."""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request, status


class BearerAuth:
    """401 without credentials, 403 with wrong ones; no token configured = endpoint closed."""

    def __init__(self, source: str, token: str | None) -> None:
        self.source = source
        self._token = token.encode() if token else None

    def __call__(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if not header or scheme.lower() != "bearer" or not credentials:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail=f"{self.source}: missing bearer token (Authorization: Bearer <token>)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if self._token is None or not hmac.compare_digest(
            credentials.strip().encode(), self._token
        ):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail=f"{self.source}: token not accepted"
            )
