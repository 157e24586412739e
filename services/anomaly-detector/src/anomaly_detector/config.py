"""Settings (environment, ANOMALY_DETECTOR_ prefix) and the detector file (YAML, validated).

The detector file holds every threshold and window; `load_detector_file` checks it at start-up
and names file, line and field of each problem. Its fields mirror `domain.params`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import SettingsConfigDict

from anomaly_detector.domain.params import (
    DeployParams,
    DetectorParams,
    FlappingParams,
    LimitParams,
    RareParams,
    StormParams,
)
from cc.platform.settings import ServiceSettings
from cc.platform.yaml_file import YamlFileError, load_yaml_model

DEFAULT_DETECTOR_FILE = Path("deploy/anomaly-detector/detector.yaml")

Seconds = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Probability = Annotated[float, Field(gt=0, lt=1)]
Count = Annotated[int, Field(ge=1)]


class Settings(ServiceSettings):
    """What the anomaly-detector reads from the environment."""

    model_config = SettingsConfigDict(env_prefix="ANOMALY_DETECTOR_", extra="ignore")

    http_port: int = 18082
    """Port of /healthz, /readyz, /metrics."""
    detector_file: Path = DEFAULT_DETECTOR_FILE
    """The detectors' thresholds and windows (YAML; relative paths from the working directory)."""
    state_topic: str = "anomaly-detector.state.alerts.v1"
    """Compacted topic holding the alert detectors' state (windows, baselines, seen signatures,
    recent deploys, open storms)."""
    metrics_enabled: bool = True
    """Score remote_write samples (loads the TensorFlow model at start)."""
    metric_state_topic: str = "anomaly-detector.state.metrics.v1"
    """Compacted topic holding each series' streaming statistics and episode."""
    tick_seconds: float = Field(default=1.0, gt=0)
    """How often time-driven results (storms and flapping episodes ending) are looked for."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StormSpec(_Spec):
    window_seconds: Seconds = 300.0
    buckets: Annotated[int, Field(ge=2, le=3600)] = 30
    min_alerts: Count = 10
    min_ratio: Annotated[float, Field(ge=1)] = 3.0
    max_p_value: Probability = 1e-4
    end_fraction: Annotated[float, Field(gt=0, le=1)] = 0.3
    prior_per_hour: Annotated[float, Field(gt=0)] = 1.0
    weekly_alpha: Annotated[float, Field(gt=0, le=1)] = 0.3
    daily_alpha: Annotated[float, Field(gt=0, le=1)] = 0.1
    overall_alpha: Annotated[float, Field(gt=0, le=1)] = 0.01
    shrink: Annotated[float, Field(ge=0)] = 2.0
    max_members: Count = 100


class FlappingSpec(_Spec):
    window_seconds: Seconds = 3600.0
    min_cycles: Annotated[int, Field(ge=2)] = 3
    quiet_seconds: Seconds = 3600.0
    transient_max_seconds: Seconds = 300.0
    transient_cooldown_seconds: Annotated[float, Field(ge=0)] = 3600.0


class RareSpec(_Spec):
    half_life_seconds: Seconds = 7 * 86400.0
    seldom_below: Annotated[float, Field(ge=0)] = 0.5
    cooldown_seconds: Annotated[float, Field(ge=0)] = 86400.0
    learning_seconds: Annotated[float, Field(ge=0)] = 0.0
    ignore_labels: tuple[str, ...] = ()


class DeploySpec(_Spec):
    window_seconds: Seconds = 1800.0
    half_life_seconds: Seconds = 600.0
    min_alerts: Count = 3
    min_ratio: Annotated[float, Field(ge=1)] = 3.0
    max_p_value: Probability = 0.01
    min_score: Fraction = 0.5
    weight_time: Annotated[float, Field(ge=0)] = 0.35
    weight_topology: Annotated[float, Field(ge=0)] = 0.4
    weight_unusual: Annotated[float, Field(ge=0)] = 0.25
    namespace_match: Fraction = 0.5
    triggers: tuple[str, ...] = Field(
        default=("on-deployed", "on-sync-succeeded", "on-sync-running"), min_length=1
    )
    application_labels: tuple[str, ...] = Field(
        default=("application", "app_kubernetes_io_instance", "service", "app", "job"),
        min_length=1,
    )
    per_application: Count = 5

    @model_validator(mode="after")
    def _weights(self) -> Self:
        if self.weight_time + self.weight_topology + self.weight_unusual <= 0:
            raise ValueError("the three weights cannot all be 0")
        return self


class LimitSpec(_Spec):
    signatures: Count = 20_000
    fingerprints: Count = 100_000
    rare_signatures: Count = 50_000
    applications: Count = 5_000


class DetectorSpec(_Spec):
    storm: StormSpec = Field(default_factory=StormSpec)
    flapping: FlappingSpec = Field(default_factory=FlappingSpec)
    rare: RareSpec = Field(default_factory=RareSpec)
    deploy: DeploySpec = Field(default_factory=DeploySpec)
    limits: LimitSpec = Field(default_factory=LimitSpec)
    severity_scores: dict[str, Fraction] = Field(
        default_factory=lambda: dict(DetectorParams().severity_scores)
    )
    default_severity_score: Fraction = 0.5
    lateness_seconds: Annotated[float, Field(ge=0)] = 60.0

    def params(self) -> DetectorParams:
        """The domain's view of this file."""
        return DetectorParams(
            storm=StormParams(**self.storm.model_dump()),
            flapping=FlappingParams(**self.flapping.model_dump()),
            rare=RareParams(**self.rare.model_dump()),
            deploy=DeployParams(**self.deploy.model_dump()),
            limits=LimitParams(**self.limits.model_dump()),
            severity_scores={k.lower(): v for k, v in self.severity_scores.items()},
            default_severity_score=self.default_severity_score,
            lateness_seconds=self.lateness_seconds,
        )


class DetectorFileError(ValueError):
    """The detector file is invalid; `problems` are 'file:line: field: message' lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid detector file:\n  " + "\n  ".join(problems))
        self.problems = problems


def load_detector_file(path: Path) -> DetectorParams:
    """Read and validate the detector file; raise DetectorFileError naming every problem."""
    if not path.is_file():
        raise DetectorFileError([f"{path}:1: (file): not found (ANOMALY_DETECTOR_DETECTOR_FILE)"])
    try:
        spec, _ = load_yaml_model(path, DetectorSpec)
    except YamlFileError as exc:
        raise DetectorFileError(exc.problems) from exc
    return spec.params()
