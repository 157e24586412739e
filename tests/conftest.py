"""Session fixtures: real Kafka, Elasticsearch and Alertmanager, started by the project's scripts.

A server that cannot start fails the tests that need it (in CI and locally alike): nothing is
skipped silently. `CC_INFRA=testcontainers` uses containers instead, where Docker exists.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from cc.kafka.topics import SERVICES, all_topics, ensure_topics
from cc.testing import infra

E2E_INGESTOR_PORT = 18180
E2E_TOKEN = "e2e-alertmanager-token"


def stop_afterwards(components: list[str]) -> list[str]:
    """Of these, the ones not running now: the session stops what it started (unless
    CC_KEEP_INFRA=1, for fast local iterations)."""
    if os.environ.get("CC_KEEP_INFRA") == "1":
        return []
    running = {s.component for s in infra.status() if s.ready}
    return [c for c in components if c not in running]


@pytest.fixture(scope="session")
def endpoints() -> Iterator[infra.Endpoints]:
    """All three servers up (reused if already running), the topics created."""
    started = stop_afterwards(list(infra.ALL))
    found = infra.up(
        am_webhook_url=f"http://127.0.0.1:{E2E_INGESTOR_PORT}/webhooks/alertmanager",
        am_webhook_token=E2E_TOKEN,
    )
    ensure_topics(found.kafka_bootstrap, all_topics(SERVICES))
    yield found
    if started:
        infra.down(started)


@pytest.fixture(scope="session")
def kafka_bootstrap(endpoints: infra.Endpoints) -> str:
    return endpoints.kafka_bootstrap


@pytest.fixture(scope="session")
def elasticsearch_url(endpoints: infra.Endpoints) -> str:
    return endpoints.elasticsearch_url


@pytest.fixture
def run_id() -> str:
    """A marker that tells this test's data apart from earlier runs on the same servers."""
    return uuid.uuid4().hex[:12]
