#!/usr/bin/env bash
# Runs pytest and refuses a green run that ran nothing: exit code 5 (no tests collected) fails.
set -uo pipefail
cd "$(dirname "$0")/.."
uv run --frozen pytest "$@"
code=$?
if [ "$code" -eq 5 ]; then
  echo "pytest collected no tests: failing on purpose (a run that tests nothing is not green)" >&2
  exit 1
fi
exit "$code"
