"""Platform plumbing: settings, JSON logs, tracing, health/readiness/metrics, service runtime."""
