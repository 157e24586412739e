#!/usr/bin/env bash
# Helm renders the chart in the contract tests. It is not in Debian's packages and nothing outside
# the package registries is reachable, so it is built from the Go module proxy (about 2 minutes,
# once per machine; the binary lands in $(go env GOPATH)/bin, where the tests look).
set -euo pipefail
HELM_VERSION="v3.22.0"
gobin="$(go env GOPATH)/bin"
if command -v helm >/dev/null 2>&1 || [ -x "$gobin/helm" ]; then
  exit 0
fi
echo "[setup] building helm $HELM_VERSION from the Go module proxy (once per machine)" >&2
go install "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
