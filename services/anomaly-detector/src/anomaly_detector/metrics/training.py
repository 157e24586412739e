"""Training sets for the forecaster, standardised exactly as the scorer does it when serving."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from anomaly_detector.metrics.scoring import LAGS, Floats, Scorer
from anomaly_detector.metrics.synthetic import synthetic_series

F32 = npt.NDArray[np.float32]


def training_pairs(series: list[Floats], max_z: float = 10.0) -> tuple[F32, F32]:
    """(window, next standardised value) pairs from running every series through the scorer."""
    seen: list[F32] = []

    def record(windows: F32) -> F32:
        seen.append(windows.copy())
        return np.zeros(len(windows), dtype=np.float32)

    scorer = Scorer(record)
    scorer.grow(len(series))
    xs: list[F32] = []
    ys: list[F32] = []
    for r in range(max(len(s) for s in series)):
        alive = [i for i, s in enumerate(series) if r < len(s)]
        idx = np.array(alive, dtype=np.int64)
        values = np.array([series[i][r] for i in alive])
        counts = scorer.bank.count[idx].copy()
        seen.clear()
        res = scorer.step(idx, values)
        keep = counts >= LAGS
        target = (values - res.expected) / res.spread
        xs.append(seen[0][keep])
        ys.append(np.clip(target[keep], -max_z, max_z).astype(np.float32))
    return np.concatenate(xs), np.concatenate(ys)


def synthetic_set(count: int, length: int, seed: int) -> list[Floats]:
    """`count` synthetic series of `length` samples."""
    rng = np.random.default_rng(seed)
    return [synthetic_series(rng, length) for _ in range(count)]
