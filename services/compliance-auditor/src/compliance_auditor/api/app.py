"""The audit API: search and verify, plus any routers other parts of the service add."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import APIRouter, FastAPI

from compliance_auditor.api.context import ApiContext
from compliance_auditor.api.search import search_router
from compliance_auditor.api.verify import verify_router

RouterFactory = Callable[[ApiContext], APIRouter]


def audit_routers(ctx: ApiContext, extra: Sequence[RouterFactory] = ()) -> list[APIRouter]:
    """The audit routers and the extra ones (KPIs, reports), each built from the context."""
    return [search_router(ctx), verify_router(ctx), *(factory(ctx) for factory in extra)]


def build_api(ctx: ApiContext, extra_routers: Sequence[RouterFactory] = ()) -> FastAPI:
    """A standalone app with the audit routers (tests; the service adds the ops endpoints)."""
    app = FastAPI(title="compliance-auditor audit API", version="0.1.0")
    for router in audit_routers(ctx, extra_routers):
        app.include_router(router)
    return app
