"""What every audit API router is built from: the store, the trail's alias and the auth."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch
from fastapi import APIRouter, Depends, HTTPException

from cc.platform.auth import Principal, Role, TokenTable, require_role
from compliance_auditor.verify import Report

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, unknown or expired bearer token"},
    403: {"description": "The token's role is below what the endpoint needs"},
    503: {"description": "Elasticsearch unavailable"},
}


@dataclass(frozen=True)
class ApiContext:
    """Shared by the audit API's routers (search, verify, and the KPI/report routers)."""

    client: Elasticsearch
    trail: str
    """Alias over the audit indices, e.g. `cc-audit`."""
    tokens: TokenTable
    verify: Callable[[list[str] | None], Report]
    """Run `audit verify` (all streams, or the named ones)."""

    def require(self, minimum: Role) -> Callable[..., Principal]:
        """FastAPI dependency: 401 without a known token, 403 below `minimum`."""
        return require_role(self.tokens, minimum)

    def router(self, prefix: str, minimum: Role = Role.VIEWER) -> APIRouter:
        """A router whose every route needs a bearer token of `minimum` or above (and says so,
        401/403 included, in the OpenAPI document)."""
        return APIRouter(
            prefix=prefix,
            tags=[prefix.strip("/").split("/")[0]],
            dependencies=[Depends(self.require(minimum))],
            responses=AUTH_RESPONSES,
        )


@contextmanager
def elasticsearch_errors() -> Iterator[None]:
    """Elasticsearch down or refusing becomes a 503 the caller may retry."""
    try:
        yield
    except (TransportConnectionError, ConnectionTimeout) as exc:
        raise HTTPException(503, "elasticsearch unavailable", headers={"Retry-After": "5"}) from exc
    except ApiError as exc:
        if exc.meta.status in (429, 500, 502, 503, 504):
            raise HTTPException(503, "elasticsearch unavailable") from exc
        raise


def invalid(field: str, message: str, where: str = "query") -> HTTPException:
    """A 422 naming the field, shaped like FastAPI's own validation errors."""
    return HTTPException(422, [{"loc": [where, field], "msg": message, "type": "value_error"}])
