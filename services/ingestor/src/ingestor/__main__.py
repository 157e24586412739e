"""`python -m ingestor`."""

from ingestor.main import cli

cli()
