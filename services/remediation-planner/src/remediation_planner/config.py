"""Settings of the remediation-planner (env prefix REMEDIATION_PLANNER_, shared CC_* for Kafka)."""

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from remediation_planner.executors.settings import ExecutorSettings

SERVICE = "remediation-planner"


class Settings(ExecutorSettings):
    """What the remediation-planner reads from the environment (executor and approval API
    settings included: one process runs planning, execution and the API)."""

    model_config = SettingsConfigDict(env_prefix="REMEDIATION_PLANNER_", extra="ignore")

    http_port: int = 18083
    """Port of /healthz, /readyz, /metrics (and the approval API)."""
    runbooks_file: Path = Path("deploy/remediation-planner/runbooks.yaml")
    """Runbooks YAML, validated at start-up."""
    policy_file: Path = Path("deploy/remediation-planner/policy.yaml")
    """Policy YAML, validated at start-up."""
    group_window_s: float = 900.0
    """An anomaly joins an open incident of its place active within this many seconds."""
    suspect_window_s: float = 1800.0
    """A deploy this long before an incident began can be its suspect."""
    quiet_period_s: float = 300.0
    """An incident resolves when all its alerts stayed resolved this long."""
    update_interval_s: float = 10.0
    """Member-only IncidentUpdated events are published at most this often per incident."""
    verify_period_s: float = 600.0
    """How long the alerts are watched after an action before its outcome is recorded."""
    resolved_retention_s: float = 86400.0
    """Resolved incidents are kept (for late verifications) this long, then forgotten."""
    executors_enabled: bool = True
    """Run the execution loop in this process (its own consumer group `<group>.executor`)."""
    tick_interval_s: float = 1.0
    """How often time-driven work (quiet periods, verifications, updates) runs."""

    def state_topic(self, what: str) -> str:
        """`<consumer group>.state.<what>.v1`: a new consumer group starts from empty state."""
        return f"{self.consumer_group or SERVICE}.state.{what}.v1"
