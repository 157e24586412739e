"""Times in payloads: accepted only if they convert to UTC (a 422, never a 500, otherwise)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def to_utc(value: datetime) -> datetime:
    """The same instant in UTC; zone-less times are taken as UTC (Kubernetes, Go templates)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+01:00, found by the fuzz test
        raise ValueError("time out of range once converted to UTC") from exc


UtcDatetime = Annotated[datetime, AfterValidator(to_utc)]
"""A datetime field that is always aware UTC after validation."""
