"""Composition root of the anomaly-detector."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry

from anomaly_detector.config import Settings, load_detector_file
from anomaly_detector.domain.detector import AlertDetectors
from anomaly_detector.domain.params import DeployParams
from anomaly_detector.handlers import (
    ALERTS_TOPIC,
    DEPLOYMENTS_TOPIC,
    SERVICE,
    AlertHandlers,
)
from anomaly_detector.metrics.handler import build_metric_handler
from cc.events import Serde
from cc.kafka import ConsumerLoop, EventProducer
from cc.kafka.metrics import ConsumerMetrics
from cc.kafka.state import KafkaStateStore
from cc.platform.runtime import (
    loop_config,
    make_serde,
    run_loops_service,
    start_platform,
)

log = logging.getLogger(__name__)

METRICS_TOPIC = "metrics.metric-samples-received.v1"


def cli() -> None:
    """Run the service until SIGTERM."""
    settings = Settings()
    start_platform(SERVICE, settings)
    params = load_detector_file(settings.detector_file)  # a bad file stops the start, naming why
    registry = CollectorRegistry()
    serde = make_serde(settings.schema_registry_url)
    producer = EventProducer(settings.kafka_bootstrap, serde, client_id=SERVICE, registry=registry)
    metrics = ConsumerMetrics(registry)  # once per registry: shared by the loops
    store = KafkaStateStore(settings.kafka_bootstrap, settings.state_topic, producer)
    store.load()  # before consuming: the state must stand for the committed offsets
    alerts = AlertHandlers(AlertDetectors(params), store)
    restored = alerts.restore()
    log.info("alert detector state restored", extra={"keys": restored})
    loops = [alert_loop(settings, serde, producer, metrics, alerts)]

    if settings.metrics_enabled:
        loops.append(metric_loop(settings, serde, producer, metrics, params.deploy))

    run_loops_service(
        SERVICE, loops, registry=registry, host=settings.http_host, port=settings.http_port
    )


def metric_loop(
    settings: Settings,
    serde: Serde,
    producer: EventProducer,
    metrics: ConsumerMetrics,
    deploy: DeployParams,
) -> ConsumerLoop:
    """Metric samples in their own group and thread: TensorFlow batches never delay alerts.
    Deploys come in too, so a shift soon after one names it."""
    store = KafkaStateStore(settings.kafka_bootstrap, settings.metric_state_topic, producer)
    log.info("metric detector state restored", extra={"series": store.load()})
    group = f"{settings.consumer_group or SERVICE}.metrics"
    return ConsumerLoop(
        loop_config(SERVICE, settings, topics=[METRICS_TOPIC, DEPLOYMENTS_TOPIC], group_id=group),
        serde,
        producer,
        batch_handler=build_metric_handler(store, deploy=deploy),
        metrics=metrics,
        before_commit=store.flush,
    )


def alert_loop(
    settings: Settings,
    serde: Serde,
    producer: EventProducer,
    metrics: ConsumerMetrics,
    alerts: AlertHandlers,
) -> ConsumerLoop:
    """Alerts and deploys, one loop and one thread: the detectors' state needs no locks."""
    config = loop_config(SERVICE, settings, topics=[ALERTS_TOPIC, DEPLOYMENTS_TOPIC])
    return ConsumerLoop(
        config,
        serde,
        producer,
        handler=alerts.on_message,
        metrics=metrics,
        before_commit=alerts.flush,
        tick=alerts.tick,
        tick_interval=settings.tick_seconds,
    )
