#!/usr/bin/env bash
# Sync benchmark: Kabinet beside the anchors (PouchDB, automerge-repo) in one run of the shared
# harness (../shared/bench/anchors), then a table with ratios and the issue's targets.
#   bash scripts/bench-sync.sh [N]           N visits (default 10000), systems: pouchdb kabinet
#   SYSTEMS="pouchdb automerge-repo kabinet" bash scripts/bench-sync.sh 1000
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
N="${1:-10000}"
SYSTEMS="${SYSTEMS:-pouchdb kabinet}"
SHARED="${KABINET_SHARED:-$(cd .. && pwd)/shared}"
[ -d "$SHARED/bench/anchors" ] || { echo "no $SHARED/bench/anchors (set KABINET_SHARED)" >&2; exit 1; }

cargo build --release -p kabinet-bench
BIN="$CARGO_TARGET_DIR/release"

# The shared folder is read-only: run the harness from a copy (npm ci writes node_modules).
WORK="${TMPDIR:-/tmp}/kabinet-bench-sync"
mkdir -p "$WORK"
rsync -a --delete --exclude node_modules --exclude data "$SHARED/bench/" "$WORK/bench/" 2>/dev/null \
  || { rm -rf "$WORK/bench"; cp -r "$SHARED/bench" "$WORK/bench"; chmod -R u+w "$WORK/bench"; }
cat > "$WORK/kabinet-system.json" <<JSON
{"kabinet": {"server": ["$BIN/kabinet-bench-hub"], "client": ["$BIN/kabinet-bench-client"]}}
JSON
OUT="$WORK/results-$N.jsonl"
: > "$OUT"
# One system at a time, with the disk flushed in between: PouchDB (LevelDB) leaves hundreds
# of MB of unflushed writes behind, and on ext4 the next system's first fsyncs would wait for
# them (Kabinet's W1 measured 1.4-1.7 s right after PouchDB, 1.0 s on its own).
# A system that fails does not stop the others (run.sh's own rule); the table shows what ran.
rc=0
for system in $SYSTEMS; do
  sync
  BENCH_SYSTEMS="$WORK/kabinet-system.json" SYSTEMS="$system" OUT="$OUT" \
    bash "$WORK/bench/anchors/run.sh" "$N" > /dev/null || rc=1
done
python3 scripts/bench_sync_table.py "$OUT" "${TMPDIR:-/tmp}/kabinet-bench-anchors/visits-$((N + ${EXTRA:-300})).jsonl" "$N"
exit "$rc"
