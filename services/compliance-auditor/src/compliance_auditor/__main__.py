"""`python -m compliance_auditor` (see cli.py for the subcommands)."""

from compliance_auditor.cli import main

raise SystemExit(main())
