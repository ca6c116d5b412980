#!/usr/bin/env bash
# Configures (Release) and builds everything in build/: the broker at build/mqtt-broker, the tests,
# the benchmark load generator.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
