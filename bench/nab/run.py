"""NAB dev half: run `python -m anomaly_detector score-csv` over every file and score the outputs.

    uv run python bench/nab/run.py [--data DIR] [--out DIR] [--jobs 2]

Prints our standard / reward_low_FP_rate / reward_low_FN_rate scores (threshold optimised per
profile, as NAB does, and at the detector's fixed threshold chosen in advance) beside the
published detectors' scores on the same 31 files (from the dataset README), and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from score import DATA, load_cases, score_all

ROOT = Path(__file__).resolve().parents[2]
FIXED_THRESHOLD = 0.5  # anomaly_detector.metrics.scoring.DETECTION_THRESHOLD
PUBLISHED = {
    "ARTime": (78.2, 70.4, 83.1),
    "contextOSE": (74.1, 71.7, 76.9),
    "numenta": (71.2, 65.0, 75.9),
    "htmjava": (68.4, 61.3, 73.1),
    "knncad": (64.4, 50.4, 71.0),
    "numentaTM": (63.3, 59.8, 68.4),
    "relativeEntropy": (56.3, 48.8, 60.9),
    "earthgeckoSkyline": (56.1, 45.1, 61.4),
    "randomCutForest": (52.0, 38.3, 61.0),
    "twitterADVec": (46.4, 33.2, 52.6),
    "skyline": (37.2, 30.7, 44.1),
    "windowedGaussian": (36.7, 21.4, 45.2),
    "random": (20.9, 8.8, 33.1),
}


def score_file(data: Path, out: Path, name: str) -> None:
    """One `score-csv` process per file, output written under `out`."""
    target = out / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w") as f:
        subprocess.run(
            [sys.executable, "-m", "anomaly_detector", "score-csv", str(data / "data" / name)],
            stdout=f,
            check=True,
            cwd=ROOT,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "GRPC_VERBOSITY": "ERROR"},
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=Path("/tmp/nab-results"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--skip-run", action="store_true", help="score existing outputs only")
    args = parser.parse_args()
    names = sorted(json.loads((args.data / "windows.json").read_text()))
    started = time.monotonic()
    if not args.skip_run:
        with ThreadPoolExecutor(args.jobs) as pool:
            for i, _ in enumerate(pool.map(lambda n: score_file(args.data, args.out, n), names)):
                sys.stderr.write(f"\r[bench/nab] scored {i + 1}/{len(names)} files")
        sys.stderr.write("\n")
    elapsed = time.monotonic() - started
    cases = load_cases(args.out, args.data)
    ours = score_all(cases)
    fixed = score_all(cases, FIXED_THRESHOLD)
    print(f"{'detector':32s} {'standard':>9s} {'low FP':>7s} {'low FN':>7s}")
    rows = [("anomaly-detector (optimised t)", tuple(r.score for r in ours))]
    rows.append((f"anomaly-detector (t={FIXED_THRESHOLD})", tuple(r.score for r in fixed)))
    rows += list(PUBLISHED.items())
    for name, (std, low_fp, low_fn) in sorted(rows, key=lambda r: -r[1][0]):
        print(f"{name:32s} {std:9.1f} {low_fp:7.1f} {low_fn:7.1f}")
    print("thresholds: " + ", ".join(f"{r.profile} {r.threshold:.4f}" for r in ours))
    print(
        json.dumps(
            {
                "files": len(cases),
                "seconds": round(elapsed, 1),
                "optimised": {r.profile: round(r.score, 2) for r in ours},
                "fixed_threshold": FIXED_THRESHOLD,
                "fixed": {r.profile: round(r.score, 2) for r in fixed},
            }
        )
    )


if __name__ == "__main__":
    main()
