"""Composition root of the anomaly-detector."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry

from anomaly_detector.config import Settings, load_detector_file
from anomaly_detector.domain.detector import AlertDetectors
from anomaly_detector.handlers import (
    ALERTS_TOPIC,
    DEPLOYMENTS_TOPIC,
    SERVICE,
    AlertHandlers,
)
from cc.events import Serde
from cc.kafka import ConsumerLoop, EventProducer, LoopConfig
from cc.kafka.metrics import ConsumerMetrics
from cc.kafka.state import KafkaStateStore
from cc.kafka.topics import dead_letter_topic
from cc.platform.runtime import consumer_overrides, make_serde, run_loops_service, start_platform

log = logging.getLogger(__name__)


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

    # ---- METRIC LOOP: the metric path (anomaly_detector.metrics) is wired here by the lead ----
    # loops.append(<its ConsumerLoop over metrics.metric-samples-received.v1, own group>)
    # ---- end of the metric loop's spot ----

    run_loops_service(
        SERVICE, loops, registry=registry, host=settings.http_host, port=settings.http_port
    )


def alert_loop(
    settings: Settings,
    serde: Serde,
    producer: EventProducer,
    metrics: ConsumerMetrics,
    alerts: AlertHandlers,
) -> ConsumerLoop:
    """Alerts and deploys, one loop and one thread: the detectors' state needs no locks."""
    config = LoopConfig(
        service=SERVICE,
        group_id=settings.consumer_group or SERVICE,
        topics=[ALERTS_TOPIC, DEPLOYMENTS_TOPIC],
        dead_letter_topic=dead_letter_topic(SERVICE),
        bootstrap=settings.kafka_bootstrap,
        batch_size=settings.consumer_batch_size,
        consumer_config=consumer_overrides(settings),
    )
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
