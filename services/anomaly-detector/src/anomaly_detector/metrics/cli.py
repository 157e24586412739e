"""`python -m anomaly_detector train …` and `python -m anomaly_detector score-csv IN.csv`."""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from anomaly_detector.metrics.detector import MetricDetector, Sample
from anomaly_detector.metrics.scoring import Floats


def parse_time(text: str) -> float:
    """Epoch seconds of an ISO-like timestamp (naive means UTC) or of a number."""
    try:
        return float(text)
    except ValueError:
        stamp = datetime.fromisoformat(text.strip())
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        return stamp.timestamp()


def score_csv(argv: list[str]) -> None:
    """Score a timestamp,value CSV row by row (no look-ahead) and print it with anomaly_score."""
    parser = argparse.ArgumentParser(prog="anomaly_detector score-csv")
    parser.add_argument("input", type=Path)
    parser.add_argument("--model", type=Path, default=None, help="model directory")
    args = parser.parse_args(argv)
    from anomaly_detector.metrics.model import DEFAULT_MODEL, Forecaster

    detector = MetricDetector(Forecaster(args.model or DEFAULT_MODEL))
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["timestamp", "value", "anomaly_score"])
    with args.input.open(newline="") as f:
        for row in csv.DictReader(f):
            sample = Sample("csv", parse_time(row["timestamp"]), float(row["value"]))
            [scored] = detector.score([sample])
            out.writerow([row["timestamp"], row["value"], f"{scored.score:.6f}"])


def train(argv: list[str]) -> None:
    """Train the forecaster from synthetic series, CSV files and/or a topic replay; export it."""
    parser = argparse.ArgumentParser(prog="anomaly_detector train")
    parser.add_argument("--synthetic", type=int, default=300, help="synthetic series (0: none)")
    parser.add_argument("--length", type=int, default=2000, help="samples per synthetic series")
    parser.add_argument("--csv", type=Path, nargs="*", default=[], help="timestamp,value files")
    parser.add_argument("--topic", default=None, help="replay MetricSamplesReceived from a topic")
    parser.add_argument("--bootstrap", default="127.0.0.1:19092")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--version", default="metric-forecaster-v1")
    parser.add_argument("--out", type=Path, default=None, help="artefact directory")
    args = parser.parse_args(argv)
    from anomaly_detector.metrics.model import MODELS, ModelCard, export, fit
    from anomaly_detector.metrics.training import synthetic_set, training_pairs

    series: list[Floats] = []
    sources = []
    if args.synthetic:
        series += synthetic_set(args.synthetic, args.length, args.seed)
        sources.append(f"{args.synthetic} synthetic series x {args.length} (seed {args.seed})")
    for path in args.csv:
        with path.open(newline="") as f:
            series.append(np.array([float(r["value"]) for r in csv.DictReader(f)]))
    if args.csv:
        sources.append(f"{len(args.csv)} CSV files")
    if args.topic:
        from anomaly_detector.metrics.replay import replay_series

        replayed = replay_series(args.bootstrap, args.topic)
        series += replayed
        sources.append(f"{len(replayed)} series replayed from {args.topic}")
    if not series:
        parser.error("nothing to train on")
    sys.stderr.write(f"preparing windows from {len(series)} series\n")
    windows, targets = training_pairs(series)
    model, val_loss = fit(windows, targets, epochs=args.epochs, seed=args.seed)
    card = ModelCard(
        args.version, windows.shape[1], "; ".join(sources), len(targets), args.epochs, val_loss
    )
    out = args.out or MODELS / args.version
    export(model, out, card)
    sys.stderr.write(f"wrote {out} (val loss {val_loss:.4f}, {len(targets)} windows)\n")
