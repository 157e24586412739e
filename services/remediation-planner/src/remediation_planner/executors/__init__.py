"""Executors: idempotent, crash-safe actions against Argo CD, Kubernetes and Alertmanager."""
