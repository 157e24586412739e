"""Our NAB scorer reproduces the published numenta scores and scores known cases exactly."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
DATA = next(
    (p for p in (ROOT.parent / "shared/datasets/nab-dev", Path("/work/shared/datasets/nab-dev"))
     if p.is_dir()),
    None,
)  # fmt: skip


def load_score() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nab_score", ROOT / "bench/nab/score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["nab_score"] = module
    spec.loader.exec_module(module)
    return module


nab = load_score()


def case(scores: list[float], windows: list[tuple[int, int]]) -> object:
    return nab.FileCase("f.csv", np.array(scores, dtype=float), windows)


def test_a_detection_at_the_left_edge_of_every_window_is_a_perfect_score() -> None:
    scores = [0.0] * 1000
    scores[400] = scores[700] = 1.0
    c = case(scores, [(400, 449), (700, 749)])
    assert [round(r.score, 6) for r in nab.score_all([c])] == [100.0, 100.0, 100.0]


def test_no_detection_at_all_is_zero_and_false_positives_go_below() -> None:
    quiet = case([0.0] * 1000, [(400, 449)])
    assert nab.evaluate([quiet], nab.PROFILES[0], threshold=0.5).score == 0.0
    noisy = [0.0] * 1000
    noisy[300] = 1.0  # before any window: -A_FP
    fp = case(noisy, [(400, 449)])
    expected = 100 * (-0.11 - 1 + 1) / 2  # raw = -0.11 - 1 (missed window); null -1, perfect 1
    assert nab.evaluate([fp], nab.PROFILES[0], threshold=0.5).score == pytest.approx(expected)


def test_rows_in_probation_are_not_scored() -> None:
    scores = [0.0] * 1000
    scores[100] = 1.0  # inside the first 150 rows
    c = case(scores, [(400, 449)])
    assert nab.evaluate([c], nab.PROFILES[0], threshold=0.5).score == 0.0


def test_a_later_detection_in_a_window_earns_less_than_an_earlier_one() -> None:
    def at(row: int) -> float:
        scores = [0.0] * 1000
        scores[row] = 1.0
        return float(nab.evaluate([case(scores, [(400, 499)])], nab.PROFILES[0], 0.5).score)

    assert at(400) > at(450) > at(490) > 0.0


@pytest.mark.skipif(DATA is None, reason="NAB dev data not present")
def test_published_numenta_outputs_score_as_the_published_table() -> None:
    assert DATA is not None
    cases = nab.load_cases(DATA / "published/numenta", DATA)
    got = [round(r.score, 1) for r in nab.score_all(cases)]
    assert got == pytest.approx([71.2, 65.0, 75.9], abs=0.1)
