#!/usr/bin/env bash
# The test command: installs what is missing, builds, then runs every unit and integration test
# through ctest. Exits non-zero when anything fails (or when no test was found).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure --no-tests=error
