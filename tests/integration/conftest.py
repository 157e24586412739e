"""Fixtures for integration tests that run the ingestor as a real process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cc.testing import infra
from cc.testing.processes import ServiceProcess

INGESTOR_PORT = 18380
INGESTOR_TOKEN = "it-ingestor-token"
LOGS = Path(__file__).resolve().parents[2] / ".run" / "logs" / "it"


@pytest.fixture(scope="module")
def ingestor(endpoints: infra.Endpoints) -> Iterator[ServiceProcess]:
    """The ingestor on its own port, 1 s Kafka ack deadline (so an outage shows quickly)."""
    env = {
        "CC_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        "INGESTOR_HTTP_PORT": str(INGESTOR_PORT),
        "INGESTOR_ALERTMANAGER_TOKEN": INGESTOR_TOKEN,
        "INGESTOR_KAFKA_ACK_TIMEOUT_S": "1",
        "INGESTOR_RETRY_AFTER_S": "1",
        "OTEL_TRACES_EXPORTER": "none",
    }
    process = ServiceProcess("ingestor", INGESTOR_PORT, LOGS / "ingestor.log", env).start()
    process.wait_ready()
    yield process
    process.stop()
