"""Route of the remote_write source (being built; mounted by `ingestor.api`)."""

from __future__ import annotations

from fastapi import APIRouter

from ingestor.adapters.auth import SourceAuth
from ingestor.routes.context import RouteContext


def router(ctx: RouteContext, auth: SourceAuth) -> APIRouter:
    """The remote_write routes."""
    return APIRouter(tags=["webhooks"])
