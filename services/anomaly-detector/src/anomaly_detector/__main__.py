"""`python -m anomaly_detector [serve | train … | score-csv IN.csv]`."""

import sys


def dispatch(argv: list[str]) -> None:
    """No argument or `serve`: run the service; `train` and `score-csv`: the offline tools."""
    command, rest = (argv[0], argv[1:]) if argv else ("serve", [])
    if command == "serve":
        from anomaly_detector.main import cli

        cli()
    elif command == "train":
        from anomaly_detector.metrics.cli import train

        train(rest)
    elif command == "score-csv":
        from anomaly_detector.metrics.cli import score_csv

        score_csv(rest)
    else:
        sys.exit(f"unknown command {command!r}: use serve, train or score-csv")


dispatch(sys.argv[1:])
