"""`POST /api/v1/write`: Prometheus remote_write 1.0 -> allow-listed `MetricSamplesReceived`.

Which series are forwarded comes from the YAML file named by `INGESTOR_REMOTE_WRITE_ALLOWLIST`,
read once when the app is built (a missing or invalid file stops the ingestor from starting;
unset means an empty list: every series is dropped and counted). Example::

    - metric: node_load1                 # a name, or an anchored regex over names
    - metric: http_requests_total
      labels:
        job: api                         # equal
        code: "=~5.."                    # regex (anchored); "!=x", "!~re" also work
        env: "!=dev"                     # quote values that start with "!" (YAML tags)

Contract with Prometheus: 204 once Kafka holds every forwarded sample; 4xx are never retried
(the batch is dropped, so only for requests a retry could not fix); 5xx, here 503 when Kafka
did not acknowledge in time, are retried with backoff. Configure `remote_write` with
`authorization: {credentials: <INGESTOR_PROMETHEUS_TOKEN>}`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import yaml
from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from starlette.concurrency import run_in_threadpool

from ingestor.adapters.auth import SourceAuth
from ingestor.domain import snappy
from ingestor.domain.protobuf_wire import WireError
from ingestor.domain.remote_write import (
    SERIES_DROP_REASONS,
    AllowList,
    AllowListError,
    Batches,
    batches_from_request,
    parse_allowlist,
)
from ingestor.publishing import publish_all
from ingestor.routes.context import REJECTIONS, RouteContext

SOURCE = "prometheus"
SAMPLES_TOPIC = "metrics.metric-samples-received.v1"
ALLOWLIST_ENV = "INGESTOR_REMOTE_WRITE_ALLOWLIST"
DROPPED_HEADER = "X-Command-Center-Dropped-Series"
#: snappy bodies expand ~5-10x; Prometheus's own receiver stops at 32 MiB too
MAX_DECOMPRESSED_BYTES = 32 * 1024 * 1024
V1_MESSAGE = "prometheus.WriteRequest"
RESPONSES = {
    **{status: why for status, why in REJECTIONS.items() if status != 422},
    400: {"description": "not valid snappy or not a remote_write protobuf (not retried)"},
    413: {"description": "body over the limit, compressed or decompressed"},
    415: {"description": "not snappy-compressed application/x-protobuf (remote_write 1.0)"},
    503: {"description": "Kafka did not acknowledge in time; Prometheus retries"},
}
log = logging.getLogger(__name__)


def load_allowlist(path: str | None) -> AllowList:
    """The allow-list in the file at `path`; empty when no file is configured."""
    if not path:
        log.warning("%s is not set: every remote_write series will be dropped", ALLOWLIST_ENV)
        return AllowList()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise AllowListError(f"{ALLOWLIST_ENV}={path}: {exc}") from exc
    try:
        return parse_allowlist(data)
    except AllowListError as exc:
        raise AllowListError(f"{ALLOWLIST_ENV}={path}: {exc}") from exc


def router(ctx: RouteContext, auth: SourceAuth) -> APIRouter:
    """The remote_write route, with the allow-list read from `INGESTOR_REMOTE_WRITE_ALLOWLIST`."""
    allow = load_allowlist(os.environ.get(ALLOWLIST_ENV))
    api = APIRouter(tags=["webhooks"])

    @api.post(
        "/api/v1/write",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        summary="Prometheus remote_write 1.0 (auth: bearer token or basic auth)",
        dependencies=[Depends(auth)],
        responses=RESPONSES,
        # no requestBody in the OpenAPI document: schemathesis, which fuzzes it, cannot
        # generate application/x-protobuf (the body is described in the module docstring)
    )
    async def remote_write(request: Request) -> Response:
        """Allow-listed series as events, one per family; 204 once Kafka holds them."""
        with ctx.handling(SOURCE, request) as span:
            check_headers(request)
            span.set_attribute(
                "cc.remote_write.version",
                request.headers.get("x-prometheus-remote-write-version", ""),
            )
            body = await read_body(request, ctx.settings.max_body_bytes)
            # CPU-bound: keep the event loop answering health checks meanwhile
            batches = await run_in_threadpool(decode, body, allow)
            tally = batches.tally
            span.set_attribute("cc.series.accepted", tally.accepted_series)
            span.set_attribute("cc.samples.accepted", tally.accepted_samples)
            span.set_attribute("cc.events", len(batches.events))
            for reason, n in tally.dropped_series.items():
                span.set_attribute(f"cc.series.dropped.{reason}", n)
            for reason, n in tally.dropped_samples.items():
                span.set_attribute(f"cc.samples.dropped.{reason}", n)
            await publish_all(
                ctx.producer,
                [(SAMPLES_TOPIC, family, event) for family, event in batches.events],
                timeout_s=ctx.settings.kafka_ack_timeout_s,
                retry_after_s=ctx.settings.retry_after_s,
            )
        ctx.accepted(SOURCE, len(batches.events))
        ctx.metrics.series.labels("forwarded").inc(tally.accepted_series)
        ctx.metrics.samples.labels("forwarded").inc(tally.accepted_samples)
        for reason, n in tally.dropped_series.items():
            ctx.metrics.series.labels(reason).inc(n)
        for reason, n in tally.dropped_samples.items():
            ctx.metrics.samples.labels(reason).inc(n)
        dropped = ", ".join(f"{r}={tally.dropped_series.get(r, 0)}" for r in SERIES_DROP_REASONS)
        return Response(status_code=status.HTTP_204_NO_CONTENT, headers={DROPPED_HEADER: dropped})

    return api


def check_headers(request: Request) -> None:
    """415 unless remote_write 1.0; lenient like Prometheus: missing headers mean the default."""
    media, *params = request.headers.get("content-type", "").split(";")
    if media.strip().lower() not in ("", "application/x-protobuf"):
        raise unsupported(f"content-type must be application/x-protobuf, got {media.strip()!r}")
    for param in params:
        name, _, value = param.strip().partition("=")
        if name.lower() == "proto" and value.strip('"') != V1_MESSAGE:
            raise unsupported(
                f"only remote_write 1.0 ({V1_MESSAGE}) is supported, got proto={value}"
            )
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "snappy"):
        raise unsupported(f"content-encoding must be snappy, got {encoding!r}")


def unsupported(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, detail=detail)


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw body; 413 as soon as it passes `max_bytes`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large(f"body over {max_bytes} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise too_large(f"body over {max_bytes} bytes")
    return bytes(body)


def too_large(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail=detail)


def decode(body: bytes, allow: AllowList) -> Batches:
    """Snappy, then protobuf, then allow-list and batches; 400/413 say which step failed."""
    try:
        raw = snappy.decompress(body, max_length=MAX_DECOMPRESSED_BYTES)
    except snappy.SnappyTooLargeError as exc:
        raise too_large(str(exc)) from exc
    except snappy.SnappyError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=f"invalid body: {exc}") from exc
    try:
        return batches_from_request(raw, allow)
    except WireError as exc:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail=f"invalid WriteRequest: {exc}"
        ) from exc
