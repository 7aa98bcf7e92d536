#!/usr/bin/env bash
# Regenerates docs/screenshots/ (main screens at 1280×800 and 800×1280).
set -euo pipefail
cd "$(dirname "$0")/.."
export KABINET_SETUP_TESTS=1
. scripts/setup.sh
(cd ui && npm run --silent build)
cargo build -p kabinet-hub -p kabinet-cli
(cd ui && node tests/screenshots.mjs)
# A rendered slip (the test's sample referral) beside the screens.
KABINET_SLIP_SAMPLE="$PWD/docs/screenshots/slip-a5.pdf" cargo test -q -p kabinet-slip --test pdf a_slip >/dev/null
pdftoppm -r 80 -png -singlefile docs/screenshots/slip-a5.pdf docs/screenshots/slip-a5
rm docs/screenshots/slip-a5.pdf
