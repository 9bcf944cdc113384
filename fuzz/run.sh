#!/usr/bin/env bash
# Builds the fuzz targets and runs each for the given number of seconds (default 60), one after
# the other on one core, starting from the committed corpus in fuzz/corpus/<target>/. Fails on
# the first crash, leak or timeout, leaving the input in fuzz/artifacts/<target>/.
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); on a stable toolchain the sanitizer
# flags are allowed through RUSTC_BOOTSTRAP=1. New inputs found go to a scratch directory: the
# committed corpus only changes by hand (`cargo fuzz cmin`, see docs/SECURITY.md).
set -euo pipefail
seconds="${1:-60}"
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${ROLETA_FUZZ_TARGET_DIR:-/root/.cache/roleta-fuzz-target}"
targets=(ws_client_msg lead_input lead_number phone)
cargo fuzz build
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  echo "fuzz: $t for ${seconds}s"
  rc=0
  cargo fuzz run "$t" "$scratch/$t" "corpus/$t" -- \
    -max_total_time="$seconds" -timeout=10 -max_len=8192 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$scratch/$t.log" 2>&1 || rc=$?
  grep -E '^stat::number_of_executed_units|^Done ' "$scratch/$t.log" || true
  if [ "$rc" -ne 0 ]; then
    echo "fuzz: $t FAILED (exit $rc); the input is in fuzz/artifacts/$t/; log tail:" >&2
    tail -n 40 "$scratch/$t.log" >&2
    exit 1
  fi
done
echo "fuzz: all targets ran ${seconds}s each without a crash"
