"""NAB scoring (our own implementation of the method in the nab-dev README).

    uv run python bench/nab/score.py RESULTS_DIR [--data DIR] [--threshold T]

RESULTS_DIR mirrors the data layout: <category>/<name>.csv with timestamp,value,anomaly_score.
Prints the standard, reward_low_FP_rate and reward_low_FN_rate scores with the threshold
optimised per profile over every distinct score (and, with --threshold, at that fixed value).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

DATA = Path("/work/shared/datasets/nab-dev")

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Profile:
    """Weights of one NAB application profile."""

    name: str
    tp: float
    fp: float
    fn: float


PROFILES = (
    Profile("standard", 1.0, 0.11, 1.0),
    Profile("reward_low_FP_rate", 1.0, 0.22, 1.0),
    Profile("reward_low_FN_rate", 1.0, 0.11, 2.0),
)


def sigma(y: float) -> float:
    """NAB's scaled sigmoid: 1 far before, -1 far after (y > 3)."""
    if y > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


@dataclass(frozen=True)
class FileCase:
    """One data file: its scores and label windows as row indices (inclusive)."""

    name: str
    scores: Floats
    windows: list[tuple[int, int]]

    @property
    def probation(self) -> int:
        """Rows at the start that are not scored."""
        return min(math.floor(0.15 * len(self.scores)), 750)

    def scored_windows(self) -> list[tuple[int, int]]:
        """Windows not wholly inside probation."""
        return [(lo, hi) for lo, hi in self.windows if hi >= self.probation]


def window_rows(timestamps: list[str], windows: Iterable[tuple[str, str]]) -> list[tuple[int, int]]:
    """Convert [start, end] timestamps into inclusive row ranges of this file."""
    keys = [_norm(t) for t in timestamps]
    rows = []
    for start, end in windows:
        lo_key, hi_key = _norm(start), _norm(end)
        inside = [i for i, k in enumerate(keys) if lo_key <= k <= hi_key]
        if inside:
            rows.append((inside[0], inside[-1]))
    return rows


def _norm(stamp: str) -> str:
    stamp = stamp.strip()
    return stamp if "." in stamp else stamp + ".000000"


def row_values(case: FileCase, profile: Profile) -> tuple[Floats, npt.NDArray[np.int_]]:
    """Value of a detection at each row, and the id of the window holding it (-1: none)."""
    n = len(case.scores)
    values = np.empty(n)
    owner = np.full(n, -1)
    windows = sorted(case.windows)
    for w, (lo, hi) in enumerate(windows):
        width = hi - lo + 1
        for i in range(lo, hi + 1):
            values[i] = profile.tp * sigma(-(hi - i + 1) / width) / sigma(-1.0)
            owner[i] = w
    preceding: tuple[int, int] | None = None
    wi = 0
    for i in range(n):
        while wi < len(windows) and windows[wi][1] < i:
            preceding = windows[wi]
            wi += 1
        if owner[i] >= 0:
            continue
        if preceding is None:
            values[i] = -profile.fp
        else:
            lo, hi = preceding
            width = hi - lo + 1
            values[i] = profile.fp * sigma((i - hi) / max(width - 1, 1))
    return values, owner


def score_steps(case: FileCase, profile: Profile) -> tuple[list[tuple[float, float]], float]:
    """The file's total as steps: (score s, delta) adds delta for every threshold t <= s."""
    values, owner = row_values(case, profile)
    start = case.probation
    steps: list[tuple[float, float]] = []
    base = 0.0
    for i in range(start, len(case.scores)):
        if owner[i] < 0:
            steps.append((float(case.scores[i]), float(values[i])))
    for lo, hi in case.scored_windows():
        base -= profile.fn
        records: list[tuple[float, float]] = []  # (score, value) where the running max rises
        best = -math.inf
        for i in range(max(lo, start), hi + 1):
            s = float(case.scores[i])
            if s > best:
                records.append((s, float(values[i])))
                best = s
        above = -profile.fn  # contribution for thresholds above the next record
        for s, v in reversed(records):
            steps.append((s, v - above))
            above = v
    return steps, base


@dataclass(frozen=True)
class Result:
    """A profile's normalised score and the threshold it was reached at."""

    profile: str
    score: float
    threshold: float


def evaluate(cases: list[FileCase], profile: Profile, threshold: float | None = None) -> Result:
    """Normalised score, threshold optimised (ties: highest) unless one is given."""
    steps: list[tuple[float, float]] = []
    base = 0.0
    for case in cases:
        file_steps, file_base = score_steps(case, profile)
        steps += file_steps
        base += file_base
    scored = sum(len(c.scored_windows()) for c in cases)
    null, perfect = -profile.fn * scored, profile.tp * scored
    s = np.array([x for x, _ in steps])
    d = np.array([y for _, y in steps])
    if threshold is not None:
        raw = base + float(d[s >= threshold].sum())
        return Result(profile.name, _normalise(raw, null, perfect), threshold)
    candidates = np.unique(s)
    acc = np.zeros(len(candidates) + 1)
    idx = np.searchsorted(candidates, s, side="right")
    np.add.at(acc, 0, d.sum())
    np.add.at(acc, idx, -d)
    totals = base + np.cumsum(acc)  # totals[k]: threshold candidates[k]; last: no detection
    best = float(totals.max())
    k = int(np.nonzero(totals >= best - 1e-9)[0][-1])
    t = float(candidates[k]) if k < len(candidates) else math.inf
    return Result(profile.name, _normalise(best, null, perfect), t)


def _normalise(raw: float, null: float, perfect: float) -> float:
    return 100.0 * (raw - null) / (perfect - null)


def load_cases(results: Path, data: Path = DATA) -> list[FileCase]:
    """Read every result file named in windows.json with its windows as rows."""
    windows = json.loads((data / "windows.json").read_text())
    cases = []
    for name in sorted(windows):
        with (results / name).open() as f:
            rows = list(csv.DictReader(f))
        stamps = [r["timestamp"] for r in rows]
        scores = np.array([float(r["anomaly_score"]) for r in rows])
        pairs = [(str(a), str(b)) for a, b in windows[name]]
        cases.append(FileCase(name, scores, window_rows(stamps, pairs)))
    return cases


def score_all(cases: list[FileCase], threshold: float | None = None) -> list[Result]:
    """All three profiles."""
    return [evaluate(cases, p, threshold) for p in PROFILES]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", type=Path)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--threshold", type=float, default=None)
    args = parser.parse_args()
    cases = load_cases(args.results, args.data)
    for r in score_all(cases):
        print(f"{r.profile:20s} {r.score:6.1f}  (threshold {r.threshold:.4f})")
    if args.threshold is not None:
        for r in score_all(cases, args.threshold):
            print(f"{r.profile:20s} {r.score:6.1f}  (fixed threshold {r.threshold:.4f})")


if __name__ == "__main__":
    main()
