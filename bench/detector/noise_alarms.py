"""False alarms of the metric scorer on series with nothing anomalous in them.

    uv run python bench/detector/noise_alarms.py [--series 40] [--samples 4000] [--seed 0]

Scores synthetic series that hold no anomaly (white Gaussian noise, AR(1) noise with phi 0.9,
a Gaussian random walk) through the metric scorer with the naive last-value forecaster, and
counts samples at or above the detection threshold per 1000 samples, in three stretches of a
series' life: just after its learning period (200-500), early (500-1000) and settled (1000+).
Each figure is printed beside the same scorer without the record score in the same run, since
the record score (a value beyond the range the series has held) is the part most exposed to
series that wander. Quality, not speed: the NAB figures come from `bench/nab/`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np
import numpy.typing as npt

from anomaly_detector.metrics.examples import last_value
from anomaly_detector.metrics.scoring import DETECTION_THRESHOLD, Params, Scorer

STRETCHES = ((200, 500), (500, 1000), (1000, None))


def series(kind: str, count: int, length: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """`count` series of `length` samples of one kind, around 100."""
    steps = rng.normal(0.0, 1.0, (count, length))
    if kind == "gaussian":
        return 100.0 + steps
    if kind == "ar(0.9)":
        out = np.zeros((count, length))
        for k in range(1, length):
            out[:, k] = 0.9 * out[:, k - 1] + steps[:, k]
        return 100.0 + out
    return 100.0 + np.cumsum(steps, axis=1)  # random walk


def alarms(data: npt.NDArray[np.float64], params: Params) -> list[float]:
    """Detections per 1000 samples in each stretch."""
    count, length = data.shape
    scorer = Scorer(last_value, params)
    scorer.grow(count)
    idx = np.arange(count)
    hits = np.zeros(length)
    for k in range(length):
        result = scorer.step(idx, data[:, k], np.full(count, 60.0 * k))
        hits[k] = np.count_nonzero(result.score >= DETECTION_THRESHOLD)
    out = []
    for lo, hi in STRETCHES:
        end = length if hi is None else min(hi, length)
        out.append(round(1000.0 * hits[lo:end].sum() / (count * max(end - lo, 1)), 3))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=40)
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    without_record = dataclasses.replace(Params(), record_spreads=1e12)
    report: dict[str, dict[str, list[float]]] = {}
    print(f"{'series':12s} {'scorer':16s}  per 1000 samples at 200-500 / 500-1000 / 1000+")
    for kind in ("gaussian", "ar(0.9)", "random walk"):
        data = series(kind, args.series, args.samples, rng)
        report[kind] = {"scorer": alarms(data, Params()), "no record": alarms(data, without_record)}
        for name, figures in report[kind].items():
            print(f"{kind:12s} {name:16s}  " + " / ".join(f"{f:.3f}" for f in figures))
    print(json.dumps({"bench": "detector-noise-alarms", "series": args.series, **report}))


if __name__ == "__main__":
    main()
