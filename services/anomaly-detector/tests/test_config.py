"""The detector file: the shipped one is the default and valid; problems name file, line, field."""

from __future__ import annotations

from pathlib import Path

import pytest

from anomaly_detector.config import (
    DEFAULT_DETECTOR_FILE,
    DetectorFileError,
    Settings,
    load_detector_file,
)
from anomaly_detector.domain.params import DetectorParams

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / DEFAULT_DETECTOR_FILE


def test_the_shipped_file_is_the_default_and_says_what_the_code_defaults_say() -> None:
    assert Settings().detector_file == DEFAULT_DETECTOR_FILE
    assert load_detector_file(SHIPPED) == DetectorParams()


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANOMALY_DETECTOR_DETECTOR_FILE", "/etc/cc/detector.yaml")
    monkeypatch.setenv("ANOMALY_DETECTOR_TICK_SECONDS", "0.5")
    settings = Settings()
    assert settings.detector_file == Path("/etc/cc/detector.yaml")
    assert settings.tick_seconds == 0.5
    assert settings.state_topic == "anomaly-detector.state.alerts.v1"


def test_a_partial_file_keeps_the_other_defaults(tmp_path: Path) -> None:
    path = tmp_path / "detector.yaml"
    path.write_text("storm:\n  min_alerts: 25\ndeploy:\n  window_seconds: 900\n")
    params = load_detector_file(path)
    assert params.storm.min_alerts == 25 and params.deploy.window_seconds == 900
    assert params.storm.window_seconds == 300 and params.rare == DetectorParams().rare


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "detector.yaml"
    path.write_text(text)
    with pytest.raises(DetectorFileError) as caught:
        load_detector_file(path)
    return caught.value.problems


def test_every_problem_names_file_line_and_field(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        "storm:\n"
        "  window_seconds: 300\n"
        "  min_alerts: many\n"
        "deploy:\n"
        "  min_score: 1.5\n"
        "  triggers: []\n"
        "flapping:\n"
        "  min_cyles: 3\n",
    )
    path = tmp_path / "detector.yaml"
    problems.sort(key=lambda p: int(p.removeprefix(f"{path}:").split(":")[0]))
    assert len(problems) == 4
    assert problems[0].startswith(f"{path}:3: storm.min_alerts: Input should be a valid integer")
    assert problems[1].startswith(f"{path}:5: deploy.min_score: Input should be less than")
    assert problems[2].startswith(f"{path}:6: deploy.triggers: Tuple should have at least 1")
    assert problems[3] == f"{path}:8: flapping.min_cyles: Extra inputs are not permitted"


def test_cross_field_rules_are_checked(tmp_path: Path) -> None:
    [problem] = _problems(
        tmp_path, "deploy:\n  weight_time: 0\n  weight_topology: 0\n  weight_unusual: 0\n"
    )
    assert problem.startswith(f"{tmp_path / 'detector.yaml'}:1: deploy:")
    assert "the three weights cannot all be 0" in problem


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    [problem] = _problems(tmp_path, "storm:\n  min_alerts: 3\n bad indent: [\n")
    assert problem.startswith(f"{tmp_path / 'detector.yaml'}:3: (yaml):")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    [problem] = _problems_missing(tmp_path / "nope.yaml")
    assert problem.startswith(f"{tmp_path / 'nope.yaml'}:1: (file): not found")


def _problems_missing(path: Path) -> list[str]:
    with pytest.raises(DetectorFileError) as caught:
        load_detector_file(path)
    return caught.value.problems
