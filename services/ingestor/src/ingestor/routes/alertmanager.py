"""`POST /webhooks/alertmanager`: Alertmanager webhook v4."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, status

from ingestor.adapters.auth import SourceAuth
from ingestor.adapters.body import openapi_body, read_json_body
from ingestor.contracts import AlertmanagerWebhook
from ingestor.domain.alerts import alerts_from_webhook
from ingestor.publishing import publish_all
from ingestor.routes.context import REJECTIONS, RouteContext

SOURCE = "alertmanager"
ALERTS_TOPIC = "alerts.alert-received.v1"


def router(ctx: RouteContext, auth: SourceAuth) -> APIRouter:
    """The Alertmanager route."""
    api = APIRouter(tags=["webhooks"])

    @api.post(
        "/webhooks/alertmanager",
        status_code=status.HTTP_202_ACCEPTED,
        summary="Alertmanager webhook v4 (auth: bearer token or basic auth)",
        dependencies=[Depends(auth)],
        responses=REJECTIONS,
        openapi_extra=openapi_body(AlertmanagerWebhook),  # read raw: size limit first
    )
    async def alertmanager_webhook(request: Request) -> dict[str, object]:
        """One `AlertReceived` per alert; 202 once Kafka holds all of them."""
        with ctx.handling(SOURCE, request) as span:
            payload = await read_json_body(
                request, AlertmanagerWebhook, max_bytes=ctx.settings.max_body_bytes
            )
            if payload.truncated_alerts:
                ctx.metrics.truncated.labels(payload.receiver).inc(payload.truncated_alerts)
            events = alerts_from_webhook(payload)
            span.set_attribute("cc.alerts", len(events))
            await publish_all(
                ctx.producer,
                [(ALERTS_TOPIC, e.fingerprint, e) for e in events],
                timeout_s=ctx.settings.kafka_ack_timeout_s,
                retry_after_s=ctx.settings.retry_after_s,
            )
        ctx.accepted(SOURCE, len(events))
        return {
            "accepted": len(events),
            "event_ids": [e.metadata.event_id for e in events],
            "truncated_alerts": payload.truncated_alerts,
        }

    return api
