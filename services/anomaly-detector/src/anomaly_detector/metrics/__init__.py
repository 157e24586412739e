"""Metric anomalies: streaming statistics plus a TensorFlow forecaster, batched across series."""
