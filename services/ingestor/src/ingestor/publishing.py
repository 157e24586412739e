"""Acknowledge only what Kafka holds: publish a request's events and wait for every ack."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from fastapi import HTTPException, status

from cc.events import Event
from cc.kafka import EventProducer, ProduceError


async def publish_all(
    producer: EventProducer,
    records: Sequence[tuple[str, str, Event]],
    *,
    timeout_s: float,
    retry_after_s: int,
) -> None:
    """Produce (topic, key, event) records; 503 + Retry-After unless Kafka acked all in time.

    On 503 some events may still land later; the sender retries and the deterministic event ids
    make the retry's copies duplicates that consumers skip.
    """
    try:
        await asyncio.wait_for(producer.send_batch_async(records), timeout_s)
    except (TimeoutError, ProduceError) as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="Kafka did not acknowledge the events in time; nothing is accepted, retry",
            headers={"Retry-After": str(retry_after_s)},
        ) from exc
