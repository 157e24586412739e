"""Tuning of the alert detectors (thresholds and windows); config.py fills it from YAML."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class StormParams:
    """Alert storm: per-signature rate in a sliding window against a seasonal baseline."""

    window_seconds: float = 300.0
    buckets: int = 30
    """The window is kept as this many buckets (its resolution, and the end-time step)."""
    min_alerts: int = 10
    """Never a storm below this many new firings in the window."""
    min_ratio: float = 3.0
    """Observed must be at least this multiple of the expected count."""
    max_p_value: float = 1e-4
    """Poisson tail probability of the observed count under the baseline must be below this."""
    end_fraction: float = 0.3
    """The storm ends when the window holds fewer than this fraction of the start threshold."""
    prior_per_hour: float = 1.0
    """Expected firings per hour of a signature with no history yet."""
    weekly_alpha: float = 0.3
    daily_alpha: float = 0.1
    overall_alpha: float = 0.01
    shrink: float = 2.0
    """Pseudo-observations pulling a young seasonal slot towards the coarser estimate."""
    max_members: int = 100
    """Member fingerprints listed on an anomaly (the evidence keeps the full count)."""


@dataclass(frozen=True)
class FlappingParams:
    """Flapping (fire/resolve cycles per fingerprint) and transient (self-resolving) alerts."""

    window_seconds: float = 3600.0
    min_cycles: int = 3
    """New firings of one fingerprint within the window that make it flapping."""
    quiet_seconds: float = 3600.0
    """A flapping episode ends this long after its last new firing."""
    transient_max_seconds: float = 300.0
    """An alert that resolves by itself within this long of its start is transient."""
    transient_cooldown_seconds: float = 3600.0
    """One transient report per signature in this long (the next says how many were held);
    within a storm none: the storm's end counts them."""


@dataclass(frozen=True)
class RareParams:
    """Rare and novel alert signatures per service."""

    half_life_seconds: float = 7 * 86400.0
    """Half-life of the decayed count that says how often a signature was seen."""
    seldom_below: float = 0.5
    """A signature seen before whose decayed count is below this is seldom (rare)."""
    cooldown_seconds: float = 86400.0
    """A signature is reported rare at most once in this long."""
    learning_seconds: float = 0.0
    """Report nothing for this long after the first alert ever seen (learning what is normal)."""
    ignore_labels: tuple[str, ...] = ()
    """Label names left out of the label set that, with service, alert name and severity, makes
    a rare-signature key (label values other than severity are left out: pod names vary)."""


@dataclass(frozen=True)
class DeployParams:
    """Deploy regression: a burst soon after a deploy of the same application or namespace."""

    window_seconds: float = 1800.0
    """A deploy this long or longer before the burst began is not a suspect."""
    half_life_seconds: float = 600.0
    """Time proximity halves every this long after the deploy."""
    min_alerts: int = 3
    """A burst right after a matching deploy needs only this many new firings in the window."""
    min_ratio: float = 3.0
    max_p_value: float = 0.01
    min_score: float = 0.5
    """A deploy is named only when its suspect score reaches this."""
    weight_time: float = 0.35
    weight_topology: float = 0.4
    weight_unusual: float = 0.25
    namespace_match: float = 0.5
    """Topology score of a deploy of another application in the same namespace (same app: 1)."""
    triggers: tuple[str, ...] = ("on-deployed", "on-sync-succeeded", "on-sync-running")
    application_labels: tuple[str, ...] = (
        "application",
        "app_kubernetes_io_instance",
        "service",
        "app",
        "job",
    )
    """Alert labels whose value may name the Argo CD application."""
    per_application: int = 5
    """Recent deploys kept per application."""


@dataclass(frozen=True)
class LimitParams:
    """Bounds on memory: least recently used entries are evicted (and deleted from state)."""

    signatures: int = 20_000
    fingerprints: int = 100_000
    rare_signatures: int = 50_000
    applications: int = 5_000


@dataclass(frozen=True)
class DetectorParams:
    """All alert-detector tuning."""

    storm: StormParams = field(default_factory=StormParams)
    flapping: FlappingParams = field(default_factory=FlappingParams)
    rare: RareParams = field(default_factory=RareParams)
    deploy: DeployParams = field(default_factory=DeployParams)
    limits: LimitParams = field(default_factory=LimitParams)
    severity_scores: dict[str, float] = field(
        default_factory=lambda: {
            "critical": 0.9,
            "high": 0.8,
            "error": 0.8,
            "warning": 0.5,
            "info": 0.2,
        }
    )
    default_severity_score: float = 0.5
    lateness_seconds: float = 60.0
    """Time-driven ends (storms, flapping) are reported once the clock is this far past them:
    alerts that arrive late, or a restart's backlog, can still extend what is open."""
