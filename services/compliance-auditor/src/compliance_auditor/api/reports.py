"""`GET /reports/{period}`: change-management evidence as Markdown, HTML or CSV (viewer+)."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from cc.events import utcnow
from cc.platform.auth import Role
from compliance_auditor.api.context import AUTH_RESPONSES, ApiContext, elasticsearch_errors, invalid
from compliance_auditor.kpis.model import Period, PeriodError
from compliance_auditor.reports.collect import ReportCollector
from compliance_auditor.reports.model import Links
from compliance_auditor.reports.render import MEDIA_TYPES, RENDERERS

log = logging.getLogger(__name__)


def reports_router(ctx: ApiContext, links: Links | None = None) -> APIRouter:
    """`GET /reports/{period}?format=markdown|html|csv`."""
    router = APIRouter(
        tags=["reports"], dependencies=[Depends(ctx.require(Role.VIEWER))], responses=AUTH_RESPONSES
    )

    @router.get(
        "/reports/{period}",
        summary="Change-management report of a period (viewer or above)",
        response_class=Response,
        responses={200: {"content": {t.split(";")[0]: {} for t in MEDIA_TYPES.values()}}},
    )
    def report(
        period: str,
        format: Annotated[Literal["markdown", "html", "csv"], Query()] = "markdown",
    ) -> Response:
        try:
            wanted = Period.parse(period)
        except PeriodError as exc:
            raise invalid("period", str(exc), where="path") from exc

        def progress(stage: str, done: int, total: int) -> None:
            log.info("report progress", extra={"stage": stage, "done": done, "total": total})

        with elasticsearch_errors():
            built = ReportCollector(ctx.client, ctx.trail, links=links).build(
                wanted, utcnow(), progress
            )
        filename = f"change-report-{wanted.name}.{ {'markdown': 'md'}.get(format, format) }"
        return Response(
            RENDERERS[format](built),
            media_type=MEDIA_TYPES[format],
            headers={"Content-Disposition": f'inline; filename="{filename}"'},
        )

    return router
