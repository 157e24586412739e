"""`GET /kpis`: DORA and the other KPIs per service, environment and period (viewer or above)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder

from cc.platform.auth import Role
from compliance_auditor.api.context import AUTH_RESPONSES, ApiContext, elasticsearch_errors, invalid
from compliance_auditor.kpis.model import Period, PeriodError, Scope
from compliance_auditor.kpis.reader import KpiReader

PERIOD_HELP = "YYYY-MM, YYYY-Qn or YYYY (UTC); or give from and to instead"


def period_of(period: str | None, start: datetime | None, end: datetime | None) -> Period:
    """The period asked for; a 422 naming the field when it cannot be read."""
    if period is not None and (start is not None or end is not None):
        raise invalid("period", "give either period or from/to, not both")
    if period is not None:
        try:
            return Period.parse(period)
        except PeriodError as exc:
            raise invalid("period", str(exc)) from exc
    if start is None or end is None:
        raise invalid(
            "period" if start is None and end is None else ("to" if start else "from"),
            "required: a period, or both from and to",
        )
    try:
        return Period.between(start, end)
    except PeriodError as exc:
        raise invalid("to" if "before" in str(exc) else "from", str(exc)) from exc


def kpis_router(ctx: ApiContext) -> APIRouter:
    """`GET /kpis`."""
    router = APIRouter(
        tags=["kpis"], dependencies=[Depends(ctx.require(Role.VIEWER))], responses=AUTH_RESPONSES
    )

    @router.get("/kpis", summary="KPIs of a period per service and environment (viewer or above)")
    def kpis(
        period: Annotated[str | None, Query(description=PERIOD_HELP, max_length=20)] = None,
        start: Annotated[datetime | None, Query(alias="from", description="ISO 8601")] = None,
        end: Annotated[datetime | None, Query(alias="to", description="ISO 8601, excluded")] = None,
        service: Annotated[str | None, Query(max_length=200)] = None,
        environment: Annotated[str | None, Query(max_length=200)] = None,
    ) -> dict[str, Any]:
        scope = Scope(period_of(period, start, end), service=service, environment=environment)
        with elasticsearch_errors():
            report = KpiReader(ctx.client, ctx.trail).report(scope)
        encoded: dict[str, Any] = jsonable_encoder(asdict(report))
        return encoded

    return router
