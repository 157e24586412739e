"""Example inputs for tests and benchmarks: a numpy stand-in forecaster and metric batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from cc.events import MetricSample, MetricSamplesReceived, MetricSeries, new_metadata

T0 = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
LABELS = {"job": "checkout", "namespace": "shop", "cluster": "prod-eu-1", "instance": "a:9100"}


def last_value(windows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Forecast the next standardised value as the last one (the model's simplest rival)."""
    return windows[:, -1].copy()


def noisy(n: int, seed: int = 1, level: float = 100.0) -> npt.NDArray[np.float64]:
    """A stationary noisy series."""
    return level + np.random.default_rng(seed).normal(0.0, 1.0, n)


def samples_event(
    values: list[float], *, start: int = 0, labels: dict[str, str] | None = None, name: str = "cpu"
) -> MetricSamplesReceived:
    """One remote_write batch: one series, a sample per minute from T0 + start minutes."""
    samples = [
        MetricSample(timestamp=T0 + timedelta(minutes=start + i), value=v)
        for i, v in enumerate(values)
    ]
    return MetricSamplesReceived(
        metadata=new_metadata("ingestor", occurred_at=T0 + timedelta(minutes=start)),
        series=[MetricSeries(name=name, labels=dict(labels or LABELS), samples=samples)],
    )
