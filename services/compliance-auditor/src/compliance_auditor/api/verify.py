"""`GET /audit/verify`: walk the hash chains against the published anchors (viewer or above)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from compliance_auditor.api.context import ApiContext, elasticsearch_errors


def verify_router(ctx: ApiContext) -> APIRouter:
    """The verification endpoint."""
    router = ctx.router("/audit")

    @router.get(
        "/verify",
        summary="Verify the audit trail's hash chains (bearer token, role viewer or above)",
        description="Reports per stream the first edited, deleted, inserted, reordered or "
        "truncated record with its id; `ok` is true when the whole trail verifies clean.",
    )
    def verify(
        stream: Annotated[
            list[str], Query(description="Only these streams (topic/partition)")
        ] = [],  # noqa: B006
    ) -> dict[str, Any]:
        with elasticsearch_errors():
            return ctx.verify(stream or None).as_dict()

    return router
