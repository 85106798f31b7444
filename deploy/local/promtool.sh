#!/usr/bin/env bash
# `make promtool`: build Prometheus's promtool from the Go module proxy into .cache/promtool/ (optional: the tests run
# `promtool check rules` when it is there). The first build downloads ~1.8 GB of modules and takes several minutes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
version="v0.316.0"
target="$root/.cache/promtool"
if [ -x "$target/promtool" ]; then
  exit 0
fi
command -v go > /dev/null || { echo "promtool needs Go (go install); install Go or skip: the rules are also checked without it" >&2; exit 1; }
mkdir -p "$target"
echo "Building promtool $version into $target (several minutes the first time) ..."
GOBIN="$target" go install "github.com/prometheus/prometheus/cmd/promtool@$version"
