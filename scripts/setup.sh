#!/usr/bin/env bash
# Installs what building and testing Kabinet needs on a Debian machine, skipping what is
# already there. Sourced by run.sh and test.sh; safe to run again.
set -euo pipefail

# System packages: a C toolchain and OpenSSL headers (SQLCipher is built from source by
# rusqlite's bundled-sqlcipher feature and links libcrypto), Python for the workload generator.
APT_PACKAGES=(build-essential pkg-config libssl-dev python3 ca-certificates curl)

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
