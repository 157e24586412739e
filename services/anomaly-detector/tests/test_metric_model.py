"""The TensorFlow side: committed artefact, compiled batched serving, score-csv, train."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from anomaly_detector.metrics.detector import MetricDetector, Sample
from anomaly_detector.metrics.scoring import LAGS

tf = pytest.importorskip("tensorflow")

from anomaly_detector.metrics.model import DEFAULT_MODEL, Forecaster  # noqa: E402


@pytest.fixture(scope="module")
def forecaster() -> Forecaster:
    return Forecaster()


def test_the_committed_artefact_is_versioned_and_says_what_it_was_trained_on(
    forecaster: Forecaster,
) -> None:
    card = json.loads((DEFAULT_MODEL / "model.json").read_text())
    assert forecaster.version == card["version"] == "metric-forecaster-v1"
    assert "synthetic" in card["trained_on"]
    assert "nab" not in card["trained_on"].lower()


def test_serving_is_one_fixed_signature_call_for_a_whole_batch(forecaster: Forecaster) -> None:
    signature = forecaster._module.signatures["forecast"]
    [spec] = signature.structured_input_signature[1].values()
    assert spec.shape.as_list() == [None, LAGS]
    windows = np.tile(np.linspace(-1, 1, LAGS, dtype=np.float32), (300, 1))
    out = forecaster(windows)
    assert out.shape == (300,)
    assert np.all(np.isfinite(out))
    assert np.allclose(out, out[0])  # same window, same forecast: rows do not interact
    assert 0.5 < out[0] < 1.5  # a steady rise continues


def test_score_csv_writes_every_row_with_the_same_scores_as_the_service_path(
    tmp_path: Path, forecaster: Forecaster
) -> None:
    values = 50 + np.sin(np.arange(400) / 10.0) + np.random.default_rng(2).normal(0, 0.1, 400)
    values[350] += 8
    source = tmp_path / "in.csv"
    with source.open("w") as f:
        f.write("timestamp,value\n")
        for i, v in enumerate(values):
            f.write(f"2024-01-01 {i // 60:02d}:{i % 60:02d}:00,{float(v)!r}\n")
    done = subprocess.run(
        [sys.executable, "-m", "anomaly_detector", "score-csv", str(source)],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = list(csv.DictReader(done.stdout.splitlines()))
    assert len(rows) == 400
    assert list(rows[0]) == ["timestamp", "value", "anomaly_score"]
    scores = np.array([float(r["anomaly_score"]) for r in rows])
    assert np.all((scores >= 0) & (scores <= 1))
    detector = MetricDetector(forecaster)
    batch = [Sample("s", float(i * 60), float(v)) for i, v in enumerate(values)]
    service = np.array([s.score for s in detector.score(batch)])
    assert np.allclose(scores, service, atol=1e-6)
    assert scores[350] >= 0.5


def test_train_writes_a_loadable_artefact(tmp_path: Path) -> None:
    out = tmp_path / "m"
    subprocess.run(
        [
            sys.executable, "-m", "anomaly_detector", "train", "--synthetic", "6",
            "--length", "300", "--epochs", "1", "--version", "test-v0", "--out", str(out),
        ],
        capture_output=True,
        check=True,
    )  # fmt: skip
    trained = Forecaster(out)
    assert trained.version == "test-v0"
    assert trained.card.samples > 1000
    assert trained(np.zeros((3, LAGS), dtype=np.float32)).shape == (3,)


def test_the_default_handler_serves_the_committed_model() -> None:
    from anomaly_detector.metrics.examples import noisy, samples_event
    from anomaly_detector.metrics.handler import build_metric_handler
    from cc.kafka.state import MemoryStateStore
    from cc.testing.events import received

    handle = build_metric_handler(MemoryStateStore())
    values = noisy(400, seed=21)
    values[380:] += 20.0
    out = handle([received(samples_event([float(v) for v in values]))])
    assert [o.event.kind for o in out] == ["metric_anomaly"]
    assert out[0].event.evidence["model_version"] == "metric-forecaster-v1"
