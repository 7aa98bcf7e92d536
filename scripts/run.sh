#!/usr/bin/env bash
# The main job: build Kabinet and open a demo cabinet database with the CLI — a day of
# screening visits imported from the shared workload, then today's list, a search by a Latin
# spelling, and a new visit with its suggested referrals.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh

cargo build --release -p kabinet-cli
KABINET="$CARGO_TARGET_DIR/release/kabinet"

DEMO_DIR="${KABINET_DEMO_DIR:-$HOME/.local/share/kabinet-demo}"
mkdir -p "$DEMO_DIR"
export KABINET_DB="$DEMO_DIR/demo.db"
export KABINET_KEY="${KABINET_KEY:-демо-парола}"
export KABINET_USER=nurse-1

if [ ! -f "$KABINET_DB" ]; then
  "$KABINET" init --cabinet cabinet-1 --issuer 1
  WORKLOAD=tests/fixtures/workload-300.jsonl
  if [ -x ../shared/bench/gen_workload.py ]; then
    WORKLOAD="$DEMO_DIR/workload.jsonl"
    python3 ../shared/bench/gen_workload.py --visits 1000 > "$WORKLOAD"
  fi
  "$KABINET" import "$WORKLOAD" --skip-invalid-screenings 2>/dev/null
fi

echo
"$KABINET" today --day 2026-03-02 | head -n 12
echo
echo "$ kabinet person search 'Yuseinova'"
"$KABINET" person search Yuseinova --limit 5
PERSON=$("$KABINET" person search Yuseinova --limit 1 --json | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["id"])')
echo
echo "$ kabinet visit add --person $PERSON --glucose 7.6 --fasting --bp 165/100 --refer"
"$KABINET" visit add --person "$PERSON" --specialist nurse-1 --glucose 7.6 --fasting --bp 165/100 --pulse 88 --refer
echo
"$KABINET" person show "$PERSON"
echo
echo "Demo database: $KABINET_DB (key: \$KABINET_KEY). Try: $KABINET --help"
