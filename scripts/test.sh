#!/usr/bin/env bash
# Every test: formatting, lints, and the whole workspace's tests (unit, property, store,
# crash-durability, CLI end to end).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
