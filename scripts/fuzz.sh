#!/usr/bin/env bash
# Builds the libFuzzer targets (in build-asan/, with AddressSanitizer and UBSan, through
# scripts/sanitize.sh), writes their seed corpus with make_fuzz_corpus, and runs each target for a
# bounded time. Fails if any target finds a crash, a leak, a sanitizer report or a timeout; the
# input that caused it is kept in build-asan/fuzz/crashes/ and the command to replay it printed.
#
#   scripts/fuzz.sh [--seconds N] [--jobs N] [--only TARGET]... [--no-build] [--work DIR]
#                   [--build-only] [-- LIBFUZZER_FLAGS]
#
#   --seconds N   time per target (default 60)
#   --jobs N      targets run at once, one process each (default 1)
#   --only T      run only target T (repeatable): fuzz_decode_v311 fuzz_decode_v5 fuzz_session
#                 fuzz_store fuzz_options fuzz_acl_file
#   --no-build    use build-asan/ as it is
#   --work DIR    where corpus, logs and crashes go (default build-asan/fuzz)
#   --build-only  build the targets (build-asan/tests/fuzz/fuzz_*) and write the seeds, run nothing
#   after --, flags for every libFuzzer run (e.g. -runs=10000000 for a fixed number of inputs);
#                 they come after the script's own, so -timeout=N there replaces the 10 s
#
# libFuzzer's timeout is wall-clock time per input: a run paused with kill -STOP for longer than
# that reports a "timeout" whose input replays in milliseconds. Give a run that may be paused a
# long one (-- -timeout=1800).
#
# The corpus each run grows is kept in <work>/corpus/<target> (the seeds are rewritten in
# <work>/seeds/<target> each time) and the log in <work>/logs/<target>.log.
# One target by hand, for as long as you like:
#   build-asan/tests/fuzz/fuzz_session build-asan/fuzz/corpus/fuzz_session build-asan/fuzz/seeds/fuzz_session
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

all_targets=(fuzz_decode_v311 fuzz_decode_v5 fuzz_session fuzz_store fuzz_options fuzz_acl_file)
seconds=60
jobs=1
build=1
build_only=0
fuzz_dir=""
targets=()
extra=()
while (($# > 0)); do
  case "$1" in
    --seconds) seconds="${2:?--seconds needs a number}" && shift ;;
    --jobs) jobs="${2:?--jobs needs a number}" && shift ;;
    --only) targets+=("${2:?--only needs a target}") && shift ;;
    --no-build) build=0 ;;
    --build-only) build_only=1 ;;
    --work) fuzz_dir="${2:?--work needs a directory}" && shift ;;
    --) shift && extra=("$@") && break ;;
    -h | --help) sed -n '2,27p' "$0" && exit 0 ;;
    *) echo "fuzz: unknown argument '$1' (see --help)" >&2 && exit 2 ;;
  esac
  shift
done
((${#targets[@]} > 0)) || targets=("${all_targets[@]}")

build_dir="$repo_root/build-asan"
if ((build)); then
  bash scripts/sanitize.sh address --build-only
fi
[[ -n "$fuzz_dir" ]] || fuzz_dir="$build_dir/fuzz"
mkdir -p "$fuzz_dir/corpus" "$fuzz_dir/logs" "$fuzz_dir/crashes"
# One writer of the seeds at a time: two runs started together (one target each) would otherwise
# remove each other's files half-way.
(
  flock 9
  "$build_dir/tests/fuzz/make_fuzz_corpus" "$fuzz_dir/seeds" >/dev/null
) 9>"$fuzz_dir/seeds.lock"
if ((build_only)); then
  echo "fuzz: targets in ${build_dir#"$repo_root/"}/tests/fuzz, seeds in ${fuzz_dir#"$repo_root/"}/seeds"
  exit 0
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# One bounded run; its summary line goes to <log>.summary.
run_target() {
  local target="$1" binary="$build_dir/tests/fuzz/$1" log="$fuzz_dir/logs/$1.log" status=0
  [[ -x "$binary" ]] || {
    echo "fuzz: no $binary (unknown target, or not built)" >&2
    return 1
  }
  mkdir -p "$fuzz_dir/corpus/$target"
  "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$fuzz_dir/crashes/$target-" "${extra[@]}" \
    "$fuzz_dir/corpus/$target" "$fuzz_dir/seeds/$target" >"$log" 2>&1 || status=$?
  local execs cov ft
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  cov="$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)"
  ft="$(grep -oE 'ft: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)"
  if ((status == 0)); then
    printf '%-18s ok      %12s executions  cov %6s  ft %7s\n' "$target" "${execs:-?}" \
      "${cov:-?}" "${ft:-?}" >"$log.summary"
  else
    {
      printf '%-18s FAILED  (exit %s) after %s executions, log %s\n' "$target" "$status" \
        "${execs:-?}" "${log#"$repo_root/"}"
      grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|fuzz_[a-z_0-9]+: )' "$log" | head -n 5 |
        sed 's/^/    /'
      grep -oE "Test unit written to [^ ]+" "$log" | sed 's/^Test unit written to /    replay: '"${binary//\//\\/}"' /'
    } >"$log.summary"
  fi
  return "$status"
}

failed=0
running=0
for target in "${targets[@]}"; do
  run_target "$target" &
  running=$((running + 1))
  if ((running >= jobs)); then
    wait -n || failed=1
    running=$((running - 1))
  fi
done
while ((running > 0)); do
  wait -n || failed=1
  running=$((running - 1))
done

echo "fuzz: ${seconds} s per target"
for target in "${targets[@]}"; do
  cat "$fuzz_dir/logs/$target.log.summary" 2>/dev/null || echo "$target: no result"
done
if ((failed)); then
  echo "fuzz: FAILED: a target found a problem (see above)" >&2
  exit 1
fi
