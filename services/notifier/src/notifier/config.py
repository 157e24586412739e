"""Settings of the notifier (env prefix NOTIFIER_, shared CC_* for Kafka)."""

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from cc.platform.settings import ServiceSettings


class Settings(ServiceSettings):
    """What the notifier reads from the environment."""

    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore")

    http_port: int = 18086
    """Port of /healthz, /readyz, /metrics."""
    slack_webhook_url: SecretStr | None = None
    """Slack incoming-webhook URL (a secret: it is the credential). Required by the default
    routing and by destinations naming NOTIFIER_SLACK_WEBHOOK_URL."""
    slack_channel_name: str = "#incidents"
    """Name recorded in NotificationSent.destination (never the URL)."""
    slack_max_attempts: int = 5
    """Attempts per message before it is recorded as failed and dead-lettered (429s honour
    Retry-After). With the backoff below, 5 attempts ride out about 7.5 s of 5xx or refused
    connections (0.5 + 1 + 2 + 4), plus the attempts' own time (up to the timeout each)."""
    slack_backoff_s: float = 0.5
    """First wait after a 5xx or network error, doubled after each further failure."""
    slack_max_backoff_s: float = 30.0
    """Longest single wait between Slack attempts."""
    slack_timeout_s: float = 10.0
    """HTTP timeout per attempt."""
    slack_rate_per_s: float = 1.0
    """Client-side limit of the default Slack destination (messages a second)."""
    slack_burst: float = 20.0
    """Messages the default Slack destination may send at once (Slack allows short bursts)."""
    slack_api_url: str = "https://slack.com/api"
    """Slack Web API base of `slack_bot` destinations (`/chat.postMessage` is appended); their
    bot tokens are per destination, named by its `settings`. Attempts and timeout as above."""
    pagerduty_base_url: str = "https://events.pagerduty.com"
    """PagerDuty Events API v2 base URL (`/v2/enqueue` is appended); routing keys are per
    destination, named by its `settings`."""
    pagerduty_max_attempts: int = 5
    """Attempts per PagerDuty event before it is recorded as failed and dead-lettered (429s back
    off from 30 s: PagerDuty sends no Retry-After). 5xx/network waits are 1, 2, 4, 8 s with
    equal jitter (half to all of it), so 5 attempts ride out 7.5 to 15 s of outage."""
    pagerduty_backoff_s: float = 1.0
    """Base of the 5xx/network backoff of PagerDuty attempts (doubled per attempt, jittered)."""
    pagerduty_max_backoff_s: float = 300.0
    """Longest single wait between PagerDuty attempts."""
    pagerduty_timeout_s: float = 10.0
    """HTTP timeout per PagerDuty attempt."""
    teams_max_attempts: int = 5
    """Attempts per Teams message before it is recorded as failed and dead-lettered; waits of
    0.5, 1, 2, 4 s with equal jitter ride out 3.75 to 7.5 s of outage."""
    teams_backoff_s: float = 0.5
    """Base of the backoff of Teams attempts (doubled per attempt, jittered)."""
    teams_max_backoff_s: float = 30.0
    """Longest single wait between Teams attempts."""
    teams_timeout_s: float = 10.0
    """HTTP timeout per Teams attempt."""
    trace_url_template: str | None = None
    """Link added to PagerDuty triggers, `{incident_id}` replaced (e.g. a Jaeger search)."""
    audit_url_template: str | None = None
    """Link added to PagerDuty triggers, `{incident_id}` replaced (the audit trail)."""
    routing_file: Path | None = None
    """Routing rules (YAML); unset: every IncidentOpened to the one Slack webhook."""
    delivery_log_timeout_s: float = 120.0
    """Longest start-up read of the delivery log before giving up (the service then exits)."""
