"""Starting the approval API beside the service's loops (called by main.py or `python -m`)."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from prometheus_client import CollectorRegistry

from cc.events import Serde, utcnow
from cc.kafka import EventProducer
from cc.platform.auth import TokenTable
from cc.platform.http import BackgroundServer
from remediation_planner.adapters.policy_file import load_policy
from remediation_planner.api.app import approval_router, create_app
from remediation_planner.api.read_model import PlanBook
from remediation_planner.api.replay import TopicReplay
from remediation_planner.executors.settings import ExecutorSettings

log = logging.getLogger(__name__)


def load_tokens(settings: ExecutorSettings) -> TokenTable | None:
    """The token table from settings; None when neither a token file nor a JWT secret is set."""
    secret = settings.api_jwt_secret.get_secret_value() if settings.api_jwt_secret else None
    if settings.api_token_file is not None:
        return TokenTable.from_file(settings.api_token_file, jwt_secret=secret)
    if secret:
        return TokenTable([], jwt_secret=secret)
    return None


def start_api(
    settings: ExecutorSettings,
    serde: Serde,
    producer: EventProducer,
    registry: CollectorRegistry,
    *,
    port: int | None = None,
) -> BackgroundServer | None:
    """Replay the plans into a read model and serve the approval API on `api_http_port`.

    Returns the running server (stop it on shutdown), or None when no credentials are
    configured: an API nobody can authenticate to is not started.
    """
    tokens = load_tokens(settings)
    if tokens is None:
        log.warning("approval API not started: set REMEDIATION_PLANNER_API_TOKEN_FILE")
        return None
    book = PlanBook()
    replay = TopicReplay(settings.kafka_bootstrap, serde, book).start()
    policy = load_policy(settings.policy_file)
    app = create_app(
        book,
        producer,
        tokens,
        registry=registry,
        clock=utcnow,
        plan_ttl=policy.approval_ttl,
        checks={"plans_replayed": replay.ready},
        policy=policy,
    )
    server = BackgroundServer(app, settings.http_host, port or settings.api_http_port)
    server.start()
    log.info("approval API started", extra={"port": server.port})
    return server


def approval_routes(
    settings: ExecutorSettings, serde: Serde, producer: EventProducer
) -> tuple[APIRouter, TopicReplay] | None:
    """The /api/v1/plans router and its running read-model replay, to serve on the service's
    own port (pass `replay.ready` as a readiness check); None without credentials."""
    tokens = load_tokens(settings)
    if tokens is None:
        log.warning("approval API not served: set REMEDIATION_PLANNER_API_TOKEN_FILE")
        return None
    book = PlanBook()
    replay = TopicReplay(settings.kafka_bootstrap, serde, book).start()
    policy = load_policy(settings.policy_file)
    router = approval_router(
        book, producer, tokens, clock=utcnow, plan_ttl=policy.approval_ttl, policy=policy
    )
    return router, replay
