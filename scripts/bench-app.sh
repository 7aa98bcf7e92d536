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
cargo build --release -p kabinet-app -p kabinet-cli -p kabinet-hub
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
# The app makes its stores with a random raw key (no passphrase derivation at login): the
# benchmark's copy is re-encrypted under one, as a device's would be.
RAW_KEY="raw:$(printf '5a%.0s' $(seq 32))"
if [ ! -f "$CACHE/app-100k-raw.db" ]; then
  cp "$STORE" "$CACHE/app-100k-raw.db.tmp"
  KABINET_DB="$CACHE/app-100k-raw.db.tmp" KABINET_KEY="$PASS" KABINET_NEW_KEY="$RAW_KEY" "$BIN/kabinet" rekey
  mv "$CACHE/app-100k-raw.db.tmp" "$CACHE/app-100k-raw.db"
  rm -f "$CACHE/app-100k-raw.keys.json"
fi
STORE="$CACHE/app-100k-raw.db"
KEYRING="$CACHE/app-100k-raw.keys.json"
if [ ! -f "$KEYRING" ]; then
  # The app's users come from a hub: a short-lived one on loopback gives the store its user.
  HUB_DIR=$(mktemp -d)
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  export KABINET_HUB_DATA="$HUB_DIR" KABINET_HUB_KEY="bench hub" KABINET_HUB_LOG=warn
  "$BIN/kabinet-hub" serve --plain-http --listen "127.0.0.1:$PORT" & HUB_PID=$!
  for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.2; done
  KABINET_HUB_USER_PASSWORD="$PASS" "$BIN/kabinet-hub" users add bench --display-name "Бенчмарк" --role nurse --cabinet cabinet-1
  CODE=$("$BIN/kabinet-hub" enroll --cabinet cabinet-1 --role nurse --role doctor | tail -n 1 | grep -oE '[0-9]{4}-[0-9]{4}-[0-9]{4}')
  KABINET_DB="$STORE" KABINET_KEY="$RAW_KEY" "$BIN/kabinet" enroll --hub "http://127.0.0.1:$PORT" --code "$CODE" --name bench
  KABINET_DB="$STORE" KABINET_KEY="$RAW_KEY" "$BIN/kabinet" users-sync
  kill $HUB_PID; wait $HUB_PID 2>/dev/null || true
  rm -rf "$HUB_DIR"
  unset KABINET_HUB_DATA KABINET_HUB_KEY
fi
for _ in $(seq "$RUNS"); do
  (cd ui && xvfb-run -a -s "-screen 0 1280x800x24" node tests/bench-app.mjs "$BIN/kabinet-app" "$STORE" "$PASS")
done
