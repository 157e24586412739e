"""`python -m remediation_planner`."""

from remediation_planner.main import cli

cli()
