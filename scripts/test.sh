#!/usr/bin/env bash
# Every test: formatting, lints, the UI's type check and unit tests, the whole workspace's
# tests (unit, property, store, crash-durability, sync through a real hub, CLI end to end),
# then end to end: the UI in Chromium served by a real hub, and the real Tauri app under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
export KABINET_SETUP_TESTS=1
. scripts/setup.sh

step() { printf '\n== %s\n' "$*" >&2; }

step "UI: type check, unit tests, build"
(cd ui && npm run --silent check && npm run --silent test && npm run --silent build)

step "Rust: format, lints, tests"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace

step "Rust: the service's rules on the PostgreSQL store (a server the tests start)"
KABINET_TEST_STORE=postgres cargo test -p kabinet-service

step "Rust: every story through a hub on PostgreSQL (a server the tests start)"
KABINET_TEST_HUB=postgres cargo test -p kabinet-tests

step "End to end: browser against a real hub"
cargo build -p kabinet-hub -p kabinet-cli -p kabinet-app
(cd ui && node tests/e2e-browser.mjs)

step "End to end: the Tauri app under Xvfb"
(cd ui && xvfb-run -a -s "-screen 0 1280x800x24" node tests/e2e-app.mjs)
