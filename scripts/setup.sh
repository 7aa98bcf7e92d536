#!/usr/bin/env bash
# Installs what building and testing Kabinet needs on a Debian machine, skipping what is
# already there. Sourced by run.sh and test.sh; safe to run again.
set -euo pipefail

# System packages: a C toolchain and OpenSSL headers (SQLCipher is built from source by
# rusqlite's bundled-sqlcipher feature and links libcrypto), Python for the workload generator,
# WebKitGTK and GTK for the Tauri app, fonts with full Cyrillic, Node.js for the UI build.
APT_PACKAGES=(build-essential pkg-config libssl-dev python3 ca-certificates curl
  libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev
  fonts-dejavu-core fonts-noto-core)
# The test command also drives a real browser and the real app under a virtual display.
if [ "${KABINET_SETUP_TESTS:-0}" = 1 ]; then
  APT_PACKAGES+=(xvfb xauth webkit2gtk-driver chromium qpdf poppler-utils zbar-tools)
  # The FHIR export is validated against HL7's R4 JSON schema with Python's jsonschema.
  APT_PACKAGES+=(python3-jsonschema)
  # Tests start their own PostgreSQL 15 server in a temporary folder (initdb, pg_ctl).
  APT_PACKAGES+=(postgresql-15 postgresql-client-15)
fi
command -v node >/dev/null || APT_PACKAGES+=(nodejs npm)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null; then
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
fi
if ! command -v cargo >/dev/null; then
  echo "setup: installing the Rust toolchain (rustup)" >&2
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy
  . "$HOME/.cargo/env"
fi

# Builds are reused between runs and clones: keep them outside the checkout.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kabinet-target}"

# Vite 8 needs Node ≥ 20.19.
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' || {
  echo "setup: Node.js $(node --version) is too old for the UI build; install Node ≥ 20.19" >&2
  exit 1
}
# The UI's packages, exactly as locked (again only when the lock file changed).
SETUP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -f "$SETUP_ROOT/ui/node_modules/.package-lock.json" ] ||
  [ "$SETUP_ROOT/ui/package-lock.json" -nt "$SETUP_ROOT/ui/node_modules/.package-lock.json" ]; then
  (cd "$SETUP_ROOT/ui" && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ "${KABINET_SETUP_TESTS:-0}" = 1 ] && ! command -v tauri-driver >/dev/null; then
  if [ -x "$HOME/.cargo/bin/tauri-driver" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: installing tauri-driver" >&2
    cargo install tauri-driver --version 2.1.0 --locked
  fi
fi
