"""`python -m compliance_auditor`."""

from compliance_auditor.main import cli

cli()
