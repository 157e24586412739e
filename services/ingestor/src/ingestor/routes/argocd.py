"""`POST /webhooks/argocd`: Argo CD notifications (body contract in deploy/argocd/README.md)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request, status

from ingestor.adapters.auth import SourceAuth
from ingestor.adapters.body import openapi_body, read_json_body
from ingestor.contracts_argocd import ArgoCDNotification
from ingestor.domain.deployments import deployment_from_notification, is_catalog_trigger
from ingestor.publishing import publish_all
from ingestor.routes.context import REJECTIONS, RouteContext

SOURCE = "argocd"
DEPLOYMENTS_TOPIC = "deployments.deployment-observed.v1"

log = logging.getLogger(__name__)


def router(ctx: RouteContext, auth: SourceAuth) -> APIRouter:
    """The Argo CD notifications route."""
    api = APIRouter(tags=["webhooks"])

    @api.post(
        "/webhooks/argocd",
        status_code=status.HTTP_202_ACCEPTED,
        summary="Argo CD notification (auth: bearer token or basic auth)",
        dependencies=[Depends(auth)],
        responses=REJECTIONS,
        openapi_extra=openapi_body(ArgoCDNotification),  # read raw: size limit first
    )
    async def argocd_webhook(request: Request) -> dict[str, object]:
        """One `DeploymentObserved`; 202 once Kafka holds it. Unknown triggers are accepted."""
        with ctx.handling(SOURCE, request) as span:
            payload = await read_json_body(
                request, ArgoCDNotification, max_bytes=ctx.settings.max_body_bytes
            )
            event = deployment_from_notification(payload, received_at=datetime.now(UTC))
            known = is_catalog_trigger(event.trigger)
            span.set_attribute("cc.argocd.application", event.application)
            span.set_attribute("cc.argocd.trigger", event.trigger)
            span.set_attribute("cc.argocd.trigger_known", known)
            if not known:
                # accepted on purpose: operators add their own triggers; consumers see it as sent
                log.warning(
                    "argocd trigger not in the catalog, accepted as sent",
                    extra={"trigger": event.trigger, "application": event.application},
                )
            await publish_all(
                ctx.producer,
                [(DEPLOYMENTS_TOPIC, event.application, event)],
                timeout_s=ctx.settings.kafka_ack_timeout_s,
                retry_after_s=ctx.settings.retry_after_s,
            )
        ctx.accepted(SOURCE, 1)
        if not known:
            ctx.metrics.unknown_triggers.inc()
        return {
            "accepted": 1,
            "event_ids": [event.metadata.event_id],
            "trigger": event.trigger,
            "trigger_known": known,
        }

    return api
