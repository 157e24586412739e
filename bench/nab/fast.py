"""NAB dev half in one process: every file is one series of one MetricDetector, scored in lockstep.

    uv run python bench/nab/fast.py [--data DIR] [--out DIR] [--detail]

The same scorer as `score-csv` (one key per file, so each file keeps its own state and the
forecaster is called once per round for all files); much faster than one process per file.
Prints the three profiles (optimised and at the fixed threshold) and, with --detail, each file's
detections at the fixed threshold.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

from score import DATA, PROFILES, FileCase, load_cases, row_values, score_all

from anomaly_detector.metrics.cli import parse_time
from anomaly_detector.metrics.detector import MetricDetector, Sample
from anomaly_detector.metrics.scoring import DETECTION_THRESHOLD


def run(data: Path, out: Path) -> float:
    """Score every file and write <out>/<name> like score-csv does; returns seconds."""
    from anomaly_detector.metrics.model import DEFAULT_MODEL, Forecaster

    names = sorted(json.loads((data / "windows.json").read_text()))
    rows = {}
    for name in names:
        with (data / "data" / name).open(newline="") as f:
            rows[name] = list(csv.DictReader(f))
    detector = MetricDetector(Forecaster(DEFAULT_MODEL))
    scores: dict[str, list[float]] = {n: [] for n in names}
    started = time.monotonic()
    for r in range(max(len(v) for v in rows.values())):
        batch = [
            Sample(n, parse_time(rows[n][r]["timestamp"]), float(rows[n][r]["value"]))
            for n in names
            if r < len(rows[n])
        ]
        for s in detector.score(batch):
            scores[s.sample.key].append(s.score)
    elapsed = time.monotonic() - started
    for name in names:
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["timestamp", "value", "anomaly_score"])
            for row, s in zip(rows[name], scores[name], strict=True):
                w.writerow([row["timestamp"], row["value"], f"{s:.6f}"])
    return elapsed


def detail(cases: list[FileCase], threshold: float) -> None:
    """Per file at `threshold`: windows hit (rows after the window start), false positives."""
    for case in cases:
        values, owner = row_values(case, PROFILES[0])
        start = case.probation
        hits = []
        for lo, hi in sorted(case.windows):
            if hi < start:
                continue
            rows = [i for i in range(max(lo, start), hi + 1) if case.scores[i] >= threshold]
            hits.append(f"{rows[0] - lo}/{hi - lo + 1}" if rows else "MISS")
        fp = [
            i
            for i in range(start, len(case.scores))
            if owner[i] < 0 and case.scores[i] >= threshold
        ]
        cost = -sum(values[i] for i in fp)
        print(f"{case.name:55s} {' '.join(hits):30s} fp={len(fp):3d} cost={cost:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=Path("/tmp/nab-fast"))
    parser.add_argument("--detail", action="store_true")
    parser.add_argument("--threshold", type=float, default=DETECTION_THRESHOLD)
    args = parser.parse_args()
    elapsed = run(args.data, args.out)
    cases = load_cases(args.out, args.data)
    ours = score_all(cases)
    fixed = score_all(cases, args.threshold)
    if args.detail:
        detail(cases, args.threshold)
    print(
        "optimised "
        + " ".join(f"{r.score:.1f}@{r.threshold:.3f}" for r in ours)
        + f" | fixed t={args.threshold} "
        + " ".join(f"{r.score:.1f}" for r in fixed)
        + f" | {elapsed:.0f}s",
        file=sys.stdout,
    )


if __name__ == "__main__":
    main()
