"""Composition root of the ingestor."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from cc.kafka import EventProducer
from cc.platform.runtime import make_serde, start_platform
from ingestor.api import create_app
from ingestor.config import Settings

SERVICE = "ingestor"


def share_metrics_between_workers() -> None:
    """Workers are separate processes: prometheus_client's multiprocess mode lets /metrics,
    answered by any one of them, add up all of them (the workers inherit the variable)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory is None:
        directory = tempfile.mkdtemp(prefix="ingestor-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    for stale in Path(directory).glob("*.db"):
        stale.unlink()  # counts of an earlier run must not add to this one


def app_factory() -> FastAPI:
    """Build the app in each worker process (settings, producer and metrics are per process)."""
    settings = Settings()
    start_platform(SERVICE, settings)
    registry = CollectorRegistry()
    serde = make_serde(settings.schema_registry_url)
    producer = EventProducer(settings.kafka_bootstrap, serde, client_id=SERVICE, registry=registry)
    app = create_app(settings, producer, registry)
    app.router.on_shutdown.append(producer.close)
    return app


def cli() -> None:
    """Serve the webhooks until SIGTERM (uvicorn drains in-flight requests first)."""
    settings = Settings()
    if settings.workers > 1:
        share_metrics_between_workers()
    uvicorn.run(
        "ingestor.main:app_factory",
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        workers=settings.workers,
        log_config=None,
        access_log=False,
    )
