#!/usr/bin/env bash
# Configures (Release) and builds everything in build/: the broker at build/mqtt-broker, the tests,
# the benchmark load generator.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# ccache, where present, makes a rebuild of unchanged sources nearly free (CI reruns, worktrees).
launcher=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="$repo_root"
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "${launcher[@]}"
cmake --build build -j"$(nproc)"
