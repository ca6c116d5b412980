#!/usr/bin/env bash
# Builds everything with sanitizers in a build directory of its own and runs the unit and
# integration tests on that build (the integration tests start that build's mqtt-broker: ctest
# passes it in MQTT_BROKER_BIN). Any sanitizer report fails the test that triggered it.
#
#   scripts/sanitize.sh [address|thread] [--build-only]
#
#   address (default)  AddressSanitizer + UndefinedBehaviorSanitizer (and LeakSanitizer) in
#                      build-asan/, which also holds the libFuzzer targets (scripts/fuzz.sh)
#   thread             ThreadSanitizer in build-tsan/ (slower; on demand, not in CI)
#   --build-only       configure and build, run nothing
#
# Needs clang 14 and its runtime libraries (scripts/install-deps.sh installs them).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

kind=address
build_only=0
for arg in "$@"; do
  case "$arg" in
    address | thread) kind="$arg" ;;
    --build-only) build_only=1 ;;
    -h | --help) sed -n '2,14p' "$0" && exit 0 ;;
    *) echo "sanitize: unknown argument '$arg' (see --help)" >&2 && exit 2 ;;
  esac
done

compiler="$(command -v clang++-14 || command -v clang++ || true)"
if [[ -z "$compiler" ]]; then
  echo "sanitize: clang++ not found; run bash scripts/install-deps.sh" >&2
  exit 1
fi

flags=(
  -DCMAKE_CXX_COMPILER="$compiler"
  # Assertions on, optimised enough that the tests and the fuzzers run at a useful speed.
  -DCMAKE_BUILD_TYPE=Debug
  "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g"
  # The load generator is not tested; skipping it saves build time.
  -DMQTT_BROKER_BENCH=OFF
)
if [[ "$kind" == address ]]; then
  build_dir=build-asan
  flags+=("-DMQTT_BROKER_SANITIZE=address,undefined" -DMQTT_BROKER_FUZZ=ON)
else
  build_dir=build-tsan
  flags+=(-DMQTT_BROKER_SANITIZE=thread)
fi
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="$repo_root"
  flags+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

cmake -S . -B "$build_dir" "${flags[@]}"
cmake --build "$build_dir" -j"$(nproc)"
((build_only)) && exit 0

# A report ends the process with a non-zero status and a stack trace; LeakSanitizer runs at exit.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1}"
# The integration tests relax what only a release build can meet (time to stop, memory).
export MQTT_TEST_SANITIZER="$kind"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
# The packaging tests check files, not compiled code: nothing for a sanitizer to see there.
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -LE packaging
echo "sanitize: $kind: every unit and integration test passed on $build_dir"
