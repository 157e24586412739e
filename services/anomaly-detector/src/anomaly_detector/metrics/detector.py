"""Keyed front of the scorer: samples of named series in, one score per sample out.

The service handler and `score-csv` both go through `MetricDetector.score`, so a CSV scored
offline and the same values arriving from Kafka get the same scores.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from anomaly_detector.metrics.scoring import Forecaster, Params, Scorer, row_width

STATE_FORMAT = 4
"""Bumped when the scorer's row layout changes (2: slow error likelihood, 3: seasonal, 4: episode
hold and drift)."""


@dataclass(frozen=True)
class Sample:
    """One sample of one series (timestamp in epoch seconds)."""

    key: str
    timestamp: float
    value: float


@dataclass(frozen=True)
class Scored:
    """A sample with its anomaly score and what the detector expected."""

    sample: Sample
    score: float
    expected: float
    baseline: float
    spread: float


class MetricDetector:
    """Per-series streaming state addressed by key; batches are scored round by round."""

    def __init__(self, forecaster: Forecaster, params: Params | None = None) -> None:
        self.scorer = Scorer(forecaster, params)
        self.index: dict[str, int] = {}
        self.last_seen: dict[str, float] = {}

    def slot(self, key: str) -> int:
        """The bank row of a series, created empty when new."""
        i = self.index.get(key)
        if i is None:
            i = len(self.index)
            if i >= len(self.scorer.bank):  # grow by doubling: new series stay cheap
                self.scorer.grow(max(64, len(self.scorer.bank)))
            self.index[key] = i
        return i

    def score(self, samples: Sequence[Sample]) -> list[Scored]:
        """Score samples in order; one batched model call per round (k-th sample of each series).

        A sample not newer than its series' last one is a replay and is not learned again
        (its score is 0).
        """
        rounds: list[list[int]] = []
        depth: dict[str, int] = {}
        for pos, s in enumerate(samples):
            if s.timestamp <= self.last_seen.get(s.key, -np.inf) or not np.isfinite(s.value):
                continue
            self.last_seen[s.key] = s.timestamp
            k = depth.get(s.key, 0)
            depth[s.key] = k + 1
            if k == len(rounds):
                rounds.append([])
            rounds[k].append(pos)
        out: list[Scored | None] = [None] * len(samples)
        for members in rounds:
            idx = np.array([self.slot(samples[p].key) for p in members], dtype=np.int64)
            values = np.array([samples[p].value for p in members])
            times = np.array([samples[p].timestamp for p in members])
            r = self.scorer.step(idx, values, times)
            for j, p in enumerate(members):
                out[p] = Scored(
                    samples[p],
                    float(r.score[j]),
                    float(r.expected[j]),
                    float(r.baseline[j]),
                    float(r.spread[j]),
                )
        return [
            o if o is not None else Scored(samples[i], 0.0, 0.0, 0.0, 0.0)
            for i, o in enumerate(out)
        ]

    def dump(self, key: str) -> bytes:
        """The series' state as bytes (format byte, last timestamp, the bank row)."""
        row = self.scorer.row(self.slot(key))
        return struct.pack(f"<Bd{len(row)}d", STATE_FORMAT, self.last_seen.get(key, -np.inf), *row)

    def restore(self, key: str, blob: bytes) -> bool:
        """Load a series' state from `dump` output; False (and no change) if the format differs."""
        width = row_width()
        if len(blob) != struct.calcsize(f"<Bd{width}d") or blob[0] != STATE_FORMAT:
            return False
        _, last, *row = struct.unpack(f"<Bd{width}d", blob)
        self.scorer.set_row(self.slot(key), list(row))
        self.last_seen[key] = last
        return True
