#!/usr/bin/env bash
# Installs the Debian packages sotto builds and runs with. Idempotent: packages already
# installed are left alone, and apt is not touched at all when nothing is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libboost-dev            # Boost.Asio + Beast (header-only in Boost 1.74)
  libssl-dev              # OpenSSL: TLS 1.3, X.509
  libsodium-dev           # X25519, ChaCha20, XChaCha20-Poly1305, Ed25519
  libeigen3-dev           # models
  libprotobuf-dev protobuf-compiler
  zlib1g-dev              # gzip'd IDX files
  libgtest-dev libgmock-dev libbenchmark-dev
  dataset-fashion-mnist   # /usr/share/datasets/fashion-mnist
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^ii'; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install_deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
echo "install_deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
