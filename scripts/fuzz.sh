#!/usr/bin/env bash
# Fuzzes the gateway's token and metadata parsing for a bounded time per target (not in CI).
#   scripts/fuzz.sh [seconds per target, default 60]
# Only the stable toolchain is needed: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags.
# The build goes to a target directory of its own (other flags than the workspace's;
# target/fuzz unless FUZZ_TARGET_DIR says), in dev profile. Crashes and their inputs land in
# fuzz/artifacts/<target>/; the corpus grows in fuzz/corpus/<target>/.
set -euo pipefail

seconds="${1:-60}"
cd "$(dirname "$0")/.."

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/target/fuzz}"

status=0
for target in $(cargo fuzz list --fuzz-dir fuzz); do
  echo "== $target: ${seconds}s"
  mkdir -p "fuzz/corpus/$target"
  if ! cargo fuzz run --fuzz-dir fuzz --dev "$target" "fuzz/corpus/$target" -- \
      -max_total_time="$seconds" -print_final_stats=1; then
    echo "== $target: FAILED (see fuzz/artifacts/$target/)"
    status=1
  fi
done
exit "$status"
