"""`python -m notifier`."""

from notifier.main import cli

cli()
