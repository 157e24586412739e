"""`POST /webhooks/generic/{mapping}`: any tool's JSON webhook, turned into alerts by a mapping.

The mappings come from the YAML file named by `INGESTOR_GENERIC_MAPPINGS`, read and validated
once when the app is built: an invalid file stops the ingestor from starting, with every problem
as `file:line: field: message`. Unset means no mappings (every request gets 404). Format and
shipped examples: deploy/generic-webhooks/README.md.

Each request is all or nothing: one field that cannot be mapped answers 422 naming its place in
the body, and nothing of that request reaches Kafka.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import RootModel

from ingestor.adapters.auth import SourceAuth
from ingestor.adapters.body import read_json_body
from ingestor.adapters.mapping_file import load_mappings
from ingestor.domain.generic_mapping import AlertMapping, UnmappableBodyError, alerts_from_body
from ingestor.publishing import publish_all
from ingestor.routes.context import REJECTIONS, RouteContext

SOURCE = "generic"
ALERTS_TOPIC = "alerts.alert-received.v1"
MAPPINGS_ENV = "INGESTOR_GENERIC_MAPPINGS"
RESPONSES = {
    **REJECTIONS,
    404: {"description": "no mapping of that name; `detail` lists the known ones"},
    422: {"description": "a mapped field is missing or unparseable; `detail[].loc` is its path"},
}
ANY_JSON_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"description": "Any JSON: the mapping says where the alerts are."}
            }
        },
    }
}
log = logging.getLogger(__name__)


class AnyJson(RootModel[Any]):
    """Any JSON document: the mapping, not a schema, decides what the body must hold."""


def mappings_from_env(environ: Mapping[str, str]) -> dict[str, AlertMapping]:
    """The mappings of the file `INGESTOR_GENERIC_MAPPINGS` names; none when it is unset."""
    path = environ.get(MAPPINGS_ENV, "").strip()
    if not path:
        log.warning("%s is not set: every generic webhook gets 404", MAPPINGS_ENV)
        return {}
    mappings = load_mappings(Path(path))
    log.info("generic webhook mappings loaded", extra={"file": path, "mappings": list(mappings)})
    return mappings


def router(ctx: RouteContext, auth: SourceAuth) -> APIRouter:
    """The generic webhook route, with its mappings read (and validated) now."""
    mappings = mappings_from_env(os.environ)
    api = APIRouter(tags=["webhooks"])

    @api.post(
        "/webhooks/generic/{mapping}",
        status_code=status.HTTP_202_ACCEPTED,
        summary="Any JSON webhook, mapped to alerts by name (auth: bearer token or basic auth)",
        dependencies=[Depends(auth)],
        responses=RESPONSES,
        openapi_extra=ANY_JSON_BODY,  # read raw: size limit first
    )
    async def generic_webhook(mapping: str, request: Request) -> dict[str, object]:
        """One `AlertReceived` per mapped alert; 202 once Kafka holds all of them."""
        with ctx.handling(SOURCE, request) as span:
            chosen = mappings.get(mapping)
            if chosen is None:
                known = ", ".join(sorted(mappings)) or f"none configured (see {MAPPINGS_ENV})"
                raise HTTPException(
                    status.HTTP_404_NOT_FOUND, detail=f"no mapping {mapping!r}; known: {known}"
                )
            span.set_attribute("cc.generic.mapping", mapping)
            body = await read_json_body(request, AnyJson, max_bytes=ctx.settings.max_body_bytes)
            try:
                events = alerts_from_body(chosen, body.root)
            except UnmappableBodyError as exc:
                detail = [
                    {"loc": ["body", *e.loc], "msg": e.msg, "type": e.type} for e in exc.errors
                ]
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail) from exc
            span.set_attribute("cc.alerts", len(events))
            await publish_all(
                ctx.producer,
                [(ALERTS_TOPIC, e.fingerprint, e) for e in events],
                timeout_s=ctx.settings.kafka_ack_timeout_s,
                retry_after_s=ctx.settings.retry_after_s,
            )
        ctx.accepted(SOURCE, len(events))
        return {
            "mapping": mapping,
            "accepted": len(events),
            "event_ids": [e.metadata.event_id for e in events],
        }

    return api
