"""Settings of the executors and the approval API (env prefix REMEDIATION_PLANNER_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from cc.platform.settings import ServiceSettings


class ExecutorSettings(ServiceSettings):
    """Where the executors act, and how the approval API authenticates."""

    model_config = SettingsConfigDict(env_prefix="REMEDIATION_PLANNER_", extra="ignore")

    argocd_url: str = ""
    """Argo CD API server, e.g. https://argocd.example; empty = Argo CD actions fail."""
    argocd_token: SecretStr = SecretStr("")
    kubernetes_url: str = ""
    """Kubernetes API server; empty = k8s actions fail."""
    kubernetes_token: SecretStr = SecretStr("")
    alertmanager_url: str = "http://127.0.0.1:19095"
    http_timeout_s: float = 10.0
    argocd_poll_interval_s: float = 2.0
    """How often the rollback polls the app while waiting for healthy."""
    executor_http_port: int = 18089
    """Ops port of `python -m remediation_planner.executors` (the executors run alone)."""
    api_token_file: Path | None = None
    """`name:role:token` lines for the approval API (deploy/remediation-planner/tokens.example)."""
    api_jwt_secret: SecretStr | None = None
    """HS256 secret for JWT bearer tokens (claims sub, role, exp); unset = token file only."""
    policy_file: Path = Path("deploy/remediation-planner/policy.yaml")
    """The planner's policy: refuses forbidden proposals, gives the approval TTL."""
    api_http_port: int = 18088
    """Port of `python -m remediation_planner.api` (the approval API alone)."""
