#!/usr/bin/env bash
# Installs what building and testing the broker needs on Debian bookworm (or a derivative):
# the apt packages below, then MQTT.js for the integration tests (npm ci in tests/integration).
# Safe to run again: it installs only what is missing, and skips npm when the lock is unchanged.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
  build-essential
  cmake
  ccache
  pkg-config
  libboost-dev
  libboost-system-dev
  libssl-dev
  libjsoncpp-dev
  libgtest-dev
  mosquitto
  mosquitto-clients
  python3-paho-mqtt
  python3-prometheus-client
  chromium
  openssl
  shellcheck
  python3
  # rsvg-convert, for scripts/make-images.sh (the add-on store's icon.png and logo.png)
  librsvg2-bin
  # Sanitizer builds and libFuzzer (scripts/sanitize.sh, scripts/fuzz.sh): clang 14, its
  # compiler-rt runtimes (ASan, UBSan, TSan, libFuzzer) and llvm-symbolizer for readable reports.
  clang-14
  libclang-rt-14-dev
  llvm-14
)
# Node.js may come from elsewhere (NodeSource, nvm) with npm bundled; take Debian's only if absent.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for package in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "install-deps: need root for: $*; run as root or install sudo" >&2
    exit 1
  fi
}

if ((${#missing[@]} > 0)); then
  echo "install-deps: installing ${missing[*]}"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
  # Mosquitto is here as a reference for the tests and the benchmark, not as a service. Where
  # systemd started it on install, it would hold port 1883, which scripts/start.sh needs.
  if [[ " ${missing[*]} " == *" mosquitto "* ]] && [[ -d /run/systemd/system ]]; then
    echo "install-deps: stopping the mosquitto system service just installed (it holds port 1883)"
    as_root systemctl disable --now mosquitto.service || true
  fi
else
  echo "install-deps: apt packages already installed"
fi

# MQTT.js for the integration tests, exactly as package-lock.json says. The stamp records which
# lock file node_modules was installed from, so an unchanged lock costs nothing.
tests_dir="$repo_root/tests/integration"
stamp="$tests_dir/node_modules/.installed-from-lock"
lock_sum="$(sha256sum "$tests_dir/package-lock.json" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$lock_sum" ]]; then
  echo "install-deps: npm packages already installed"
else
  echo "install-deps: npm ci in tests/integration"
  (cd "$tests_dir" && npm ci --no-audit --no-fund)
  echo "$lock_sum" >"$stamp"
fi
