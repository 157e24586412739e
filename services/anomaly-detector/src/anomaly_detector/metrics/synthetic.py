"""Synthetic metric series to train the forecaster on (no benchmark data is used for training).

Each series mixes what operations metrics look like: a level, daily-like and faster seasons,
trends, random walks, AR(1) noise, heavy-tailed bursts, quantisation to a step (counters,
percentages), clipping at zero and long constant stretches.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]


def synthetic_series(rng: np.random.Generator, length: int) -> Floats:
    """One random series of `length` samples."""
    t = np.arange(length, dtype=np.float64)
    level = rng.lognormal(2.0, 2.0)
    x = np.full(length, level)
    for _ in range(rng.integers(0, 3)):
        period = rng.choice([rng.uniform(8, 60), rng.uniform(60, 400), 288.0, 24.0, 48.0])
        amp = level * rng.uniform(0.02, 0.8)
        shape = np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
        if rng.random() < 0.3:
            shape = np.sign(shape) * np.abs(shape) ** 0.3  # squarer seasons (business hours)
        x += amp * shape
    if rng.random() < 0.3:
        x += level * rng.normal(0, 0.002) * t
    if rng.random() < 0.4:
        x += np.cumsum(rng.normal(0, level * rng.uniform(0.001, 0.03), length))
    phi = rng.uniform(0.0, 0.95)
    noise = rng.normal(0, 1, length)
    if rng.random() < 0.3:
        noise = rng.standard_t(3, length)
    ar = np.zeros(length)
    for i in range(1, length):
        ar[i] = phi * ar[i - 1] + noise[i]
    x += ar * level * rng.uniform(0.0, 0.2)
    if rng.random() < 0.2:
        x += (rng.random(length) < 0.01) * level * rng.exponential(1.0, length)
    if rng.random() < 0.3:
        x = np.maximum(x, 0.0)
    if rng.random() < 0.4:
        step = max(abs(level) * rng.choice([0.001, 0.01, 0.05]), 1e-6)
        x = np.round(x / step) * step
    if rng.random() < 0.15:
        a = int(rng.integers(0, length // 2))
        x[a : a + int(rng.integers(20, length // 2))] = x[a]
    return x
