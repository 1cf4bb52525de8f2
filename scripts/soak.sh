#!/usr/bin/env bash
# The soak (issue 10, not in CI): a property's day at a steady rate for 10 minutes (or
# $1 seconds), on SQLite, with each minute's latency and the process's resident memory, to see
# whether either drifts. The figures go in docs/PERFORMANCE.md.
#
#   bash scripts/soak.sh [seconds] [operations per second]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
rate=${2:-200}
cargo bench -p wuye-tests --bench wuye -- --only day --day-seconds "$seconds" --day-rate "$rate"
