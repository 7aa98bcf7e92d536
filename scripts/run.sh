#!/usr/bin/env bash
# The main job: build Kabinet and start it — a demo Hub on 127.0.0.1:8750 (serving the web UI
# to hub staff) and the cabinet's Tauri app, with a day of screening visits from the shared
# workload already in the cabinet's encrypted store and the cabinet enrolled with the hub.
# Without a display the hub keeps running and the same UI is at http://127.0.0.1:8750.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh

(cd ui && npm run --silent build)
cargo build --release -p kabinet-app -p kabinet-hub -p kabinet-cli
BIN="$CARGO_TARGET_DIR/release"

DEMO_DIR="${KABINET_DEMO_DIR:-$HOME/.local/share/kabinet-demo}"
PASS="${KABINET_DEMO_PASSPHRASE:-демо-парола}"
HUB_PORT="${KABINET_DEMO_PORT:-8750}"
HUB_URL="http://127.0.0.1:$HUB_PORT"
# A demo made by an older version (no users on the device yet) is made again.
if [ -f "$DEMO_DIR/app/cabinet.db" ] && [ ! -f "$DEMO_DIR/app/cabinet.keys.json" ]; then
  rm -rf "$DEMO_DIR/app" "$DEMO_DIR/hub"
fi
mkdir -p "$DEMO_DIR/app" "$DEMO_DIR/hub"
export KABINET_HUB_DATA="$DEMO_DIR/hub" KABINET_HUB_KEY="$PASS" KABINET_HUB_LOG=warn

"$BIN/kabinet-hub" serve --plain-http --listen "127.0.0.1:$HUB_PORT" --ui-dir ui/dist &
HUB_PID=$!
trap 'kill $HUB_PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fsS "$HUB_URL/health" >/dev/null 2>&1 && break; sleep 0.2; done

export KABINET_DB="$DEMO_DIR/app/cabinet.db" KABINET_KEY="$PASS"
if [ ! -f "$KABINET_DB" ]; then
  KABINET_HUB_USER_PASSWORD="$PASS" "$BIN/kabinet-hub" users add demo --display-name "Демо служител" --role hub_admin
  # The cabinet's users: the demo password is their device PIN (they have no web sign-in).
  KABINET_HUB_USER_PASSWORD="$PASS" "$BIN/kabinet-hub" users add sestra --display-name "Демо сестра" --role nurse --cabinet cabinet-1
  KABINET_HUB_USER_PASSWORD="$PASS" "$BIN/kabinet-hub" users add lekar --display-name "Д-р Демо" --role doctor --cabinet cabinet-1
  "$BIN/kabinet" init --cabinet cabinet-1 --issuer 1
  WORKLOAD=tests/fixtures/workload-300.jsonl
  if [ -f ../shared/bench/gen_workload.py ]; then
    WORKLOAD="$DEMO_DIR/workload.jsonl"
    python3 ../shared/bench/gen_workload.py --visits 1000 > "$WORKLOAD"
  fi
  "$BIN/kabinet" import "$WORKLOAD" --skip-invalid-screenings >/dev/null 2>&1
  CODE=$("$BIN/kabinet-hub" enroll --cabinet cabinet-1 --role nurse --role doctor | tail -n 1 | grep -oE '[0-9]{4}-[0-9]{4}-[0-9]{4}')
  "$BIN/kabinet" enroll --hub "$HUB_URL" --code "$CODE" --name demo-tablet
  # The hub's users of this device, so they can log in to the app (offline from now on).
  "$BIN/kabinet" users-sync
fi

cat <<MSG

Kabinet demo
  Cabinet app: log in as "Демо сестра" (or "Д-р Демо") with the password "$PASS"
               (data: $DEMO_DIR/app; the users come from the hub and work offline).
  Hub web UI:  $HUB_URL  (user "demo", password "$PASS").
  The visits of the demo day are under Днес → 02.03.2026.
MSG

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  KABINET_APP_DATA="$DEMO_DIR/app" "$BIN/kabinet-app"
else
  echo "No display here: the hub keeps serving $HUB_URL until Ctrl-C."
  wait $HUB_PID
fi
