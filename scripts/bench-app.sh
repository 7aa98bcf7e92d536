#!/usr/bin/env bash
# Benchmark of the cabinet app (release) with ~100,000 persons in its store: cold start,
# search-as-you-type, saving a visit, memory. Prints a JSON line per run.
# The 100k-person store is built once (10 cabinets × 17,000 visits of the shared workload)
# and cached under ~/.cache/kabinet-bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
export KABINET_SETUP_TESTS=1
. scripts/setup.sh
RUNS="${1:-3}"
(cd ui && npm run --silent build)
cargo build --release -p kabinet-app -p kabinet-cli
BIN="$CARGO_TARGET_DIR/release"
CACHE="$HOME/.cache/kabinet-bench"
STORE="$CACHE/app-100k.db"
PASS="bench passphrase"
if [ ! -f "$STORE" ]; then
  mkdir -p "$CACHE"
  rm -f "$STORE.tmp"
  for seed in $(seq 1 10); do
    python3 ../shared/bench/gen_workload.py --visits 17000 --seed "$seed" > "$CACHE/w$seed.jsonl"
  done
  KABINET_DB="$STORE.tmp" KABINET_KEY="$PASS" "$BIN/kabinet" init --cabinet cabinet-1 --issuer 1
  for seed in $(seq 1 10); do
    KABINET_DB="$STORE.tmp" KABINET_KEY="$PASS" "$BIN/kabinet" import "$CACHE/w$seed.jsonl" --skip-invalid-screenings >/dev/null 2>&1
    rm -f "$CACHE/w$seed.jsonl"
  done
  mv "$STORE.tmp" "$STORE"
fi
for _ in $(seq "$RUNS"); do
  (cd ui && xvfb-run -a -s "-screen 0 1280x800x24" node tests/bench-app.mjs "$BIN/kabinet-app" "$STORE" "$PASS")
done
