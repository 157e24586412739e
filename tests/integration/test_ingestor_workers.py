"""Several ingestor worker processes behind one port: all serve, /metrics adds them up."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from cc.testing import infra
from cc.testing.processes import ServiceProcess
from tests.integration.conftest import INGESTOR_TOKEN, LOGS

pytestmark = [pytest.mark.kafka]
PORT = 18381


@pytest.fixture
def two_workers(endpoints: infra.Endpoints) -> Iterator[ServiceProcess]:
    env = {
        "CC_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        "INGESTOR_HTTP_PORT": str(PORT),
        "INGESTOR_WORKERS": "2",
        "INGESTOR_ALERTMANAGER_TOKEN": INGESTOR_TOKEN,
        "OTEL_TRACES_EXPORTER": "none",
    }
    process = ServiceProcess("ingestor", PORT, LOGS / "ingestor-workers.log", env).start()
    process.wait_ready()
    yield process
    assert process.stop() == 0


def test_requests_spread_over_workers_and_metrics_add_up(
    two_workers: ServiceProcess, run_id: str
) -> None:
    body = {
        "version": "4",
        "receiver": "w",
        "status": "firing",
        "groupKey": "w",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "W", "run": run_id},
                "startsAt": "2026-11-26T10:00:00Z",
                "fingerprint": f"{run_id}0000"[:16],
            }
        ],
    }
    headers = {"Authorization": f"Bearer {INGESTOR_TOKEN}"}
    requests = 40
    for _ in range(requests):  # a new connection each time, so the kernel spreads them
        assert (
            httpx.post(
                f"{two_workers.url}/webhooks/alertmanager", json=body, headers=headers
            ).status_code
            == 202
        )
    metrics = httpx.get(f"{two_workers.url}/metrics").text
    line = next(
        row
        for row in metrics.splitlines()
        if row.startswith('cc_ingest_requests_total{source="alertmanager",status="2xx"}')
    )
    assert float(line.split()[-1]) == requests
    log = (LOGS / "ingestor-workers.log").read_text()
    assert log.count("Application startup complete") >= 2
