"""`python -m anomaly_detector`."""

from anomaly_detector.main import cli

cli()
