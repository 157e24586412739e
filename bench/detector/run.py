"""Detector benchmarks: the alert detectors (alerts.py) and, when present, the metric path
(metrics_path.py), each beside its own passthrough baseline measured in the same run.

    uv run python bench/detector/run.py [--events 60000] [--runs 5]

Each script runs in its own interpreter (one thread: figures are per core); their tables and
JSON lines are printed one after the other. Options are passed to alerts.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    """Run every detector benchmark there is; the exit code is the first failure's, if any."""
    failed = 0
    for script, args in (("alerts.py", sys.argv[1:]), ("metrics_path.py", [])):
        path = HERE / script
        if not path.exists():
            print(f"({script} not present: skipped)")
            continue
        print(f"== bench/detector/{script}", flush=True)
        code = subprocess.call([sys.executable, str(path), *args])
        failed = failed or code
    return failed


if __name__ == "__main__":
    sys.exit(main())
