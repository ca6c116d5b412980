#!/usr/bin/env bash
# What durable storage costs, this broker against Mosquitto with `persistence true` (every other
# Mosquitto setting at its default, so autosave_interval 1800): bytes written to disk per retained
# update and per QoS 1 message to a persistent session, and a restart with 1,000,000 retained
# messages. Prints one table: measurement | ours | mosquitto | ratio. See bench/README.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$repo/build"
do_build=1
updates=100000
topics=10000
rate=20000
startup_count=1000000
brokers="ours,mosquitto"
results_dir="$repo/bench/results"

usage() {
  cat <<EOF
usage: bench/storage_compare.sh [flags]
  --build-dir DIR      where mqtt-broker and bench/mqtt-load are (default: $repo/build)
  --no-build           fail instead of building missing binaries
  --updates N          retained updates per write-volume run (default $updates)
  --topics N           topics they are spread over (default $topics)
  --rate N             updates per second of the paced run (default $rate)
  --startup-count N    retained messages for the restart measurements (default $startup_count)
  --brokers LIST       ours,mosquitto (default); one of them alone to check a single broker
  --results-dir DIR    also write the table and raw lines here (default bench/results; '' = off)
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --updates) updates=$2; shift 2 ;;
    --topics) topics=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --startup-count) startup_count=$2; shift 2 ;;
    --brokers) brokers=$2; shift 2 ;;
    --results-dir) results_dir=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "storage_compare.sh: unknown flag '$1' (see --help)" >&2; exit 2 ;;
  esac
done

log() { echo "storage_compare.sh: $*" >&2; }
for b in ${brokers//,/ }; do
  [[ $b == ours || $b == mosquitto ]] || { log "unknown broker '$b' in --brokers"; exit 2; }
done

first_executable() {
  local f
  for f in "$@"; do [[ -x "$f" && -f "$f" ]] && { echo "$f"; return 0; }; done
  return 1
}
find_binaries() {
  broker_bin=$(first_executable "$build_dir/mqtt-broker" "$build_dir/src/app/mqtt-broker") || true
  load_bin=$(first_executable "$build_dir/bench/mqtt-load" "$build_dir/mqtt-load") || true
}
find_binaries
if [[ -z "$broker_bin" || -z "$load_bin" ]]; then
  [[ $do_build == 1 ]] || { log "mqtt-broker or mqtt-load missing in $build_dir"; exit 1; }
  log "building mqtt-broker and mqtt-load in $build_dir"
  if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
    cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >&2
  fi
  cmake --build "$build_dir" --target mqtt-broker mqtt-load -j2 >&2
  find_binaries
  [[ -n "$broker_bin" && -n "$load_bin" ]] || { log "the build did not produce both"; exit 1; }
fi
mosquitto_bin=$(command -v mosquitto || first_executable /usr/sbin/mosquitto) || {
  log "mosquitto not found (apt-get install mosquitto)"
  exit 1
}

# On the disk, not tmpfs: write_bytes counts what reaches the storage layer.
work=$(mktemp -d "${TMPDIR:-/tmp}/mqtt-storage-bench.XXXXXX")
broker_pid=""
launcher_pid=""
broker_dir=""
cleanup() {
  # A broker started but not yet recorded in broker_pid is in its launcher's status file.
  if [[ -z "$broker_pid" && -n "$launcher_pid" && -f "${broker_dir:-}/status" ]]; then
    broker_pid=$(sed -n 's/^pid=//p' "$broker_dir/status" | tail -n1 || true)
  fi
  if [[ -n "$broker_pid" ]]; then kill -KILL "$broker_pid" 2>/dev/null || true; fi
  if [[ -n "$launcher_pid" ]]; then kill -KILL "$launcher_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'log "stopped by a failure at line $LINENO: $BASH_COMMAND"' ERR

# The launcher runs a broker as its child and copies its output to the log itself (so the
# broker's own write_bytes count only its store), notes when the `listening:` line appears and
# when the port first accepts a connection, and, once the broker has exited but before it is
# reaped, reads /proc/<pid>/io: everything the process wrote, up to its last byte.
cat >"$work/launch.py" <<'EOF'
import os, socket, sys, threading, time
status_path, log_path, port, cmd = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
status, lock = open(status_path, "a", buffering=1), threading.Lock()
def put(key, value):
    with lock:  # two threads write here: whole lines only
        status.write(f"{key}={value}\n")
t0 = time.monotonic()
since = lambda: f"{(time.monotonic() - t0) * 1000:.0f}"
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.dup2(w, 1); os.dup2(w, 2); os.close(r); os.close(w)
    os.execvp(cmd[0], cmd)
os.close(w)
put("pid", pid)
exited = threading.Event()
def poll_port():
    while not exited.is_set() and time.monotonic() - t0 < 300:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                put("accepting_ms", since()); return
        time.sleep(0.005)
threading.Thread(target=poll_port, daemon=True).start()
tail, seen = b"", False
with open(log_path, "wb") as log:
    for chunk in iter(lambda: os.read(r, 65536), b""):
        log.write(chunk); log.flush()
        if not seen and b"listening:" in tail + chunk:
            put("listening_ms", since()); seen = True
        tail = chunk[-16:]
os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
io = dict(line.split(": ") for line in open(f"/proc/{pid}/io").read().split("\n") if line)
exited.set()
_, code = os.waitpid(pid, 0)
put("exit_write_bytes", io["write_bytes"]); put("exit_status", os.waitstatus_to_exitcode(code))
put("exited_at", f"{time.time():.3f}")
EOF

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
alive() { [[ -e /proc/$1 ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
status_field() { sed -n "s/^$1=//p" "$broker_dir/status" | tail -n1; }
notes=()

# start_broker KIND DIR: (re)starts a broker on the data in DIR; sets broker_pid, port, ready_ms.
start_broker() {
  local kind=$1 i
  broker_dir=$2
  mkdir -p "$broker_dir"
  port=$(free_port)
  : >"$broker_dir/status"
  if [[ $kind == ours ]]; then
    echo '{"logins":[{"username":"bench","password":"bench"}]}' >"$broker_dir/options.json"
    set -- "$broker_bin" --options "$broker_dir/options.json" --data-dir "$broker_dir/data" \
      --bind 127.0.0.1 --mqtt-port "$port" --ws-port 0 --mqtts-port 0 --wss-port 0 --ingress-port 0
  else
    mosquitto_passwd -c -b "$broker_dir/passwd" bench bench
    {
      [[ $(id -u) == 0 ]] && echo "user root"  # else it drops to a user who cannot read $work
      echo "listener $port 127.0.0.1"
      echo "allow_anonymous false"
      echo "password_file $broker_dir/passwd"
      echo "persistence true"
      echo "persistence_location $broker_dir/"
      echo "max_connections -1"
      echo "log_dest stdout"
    } >"$broker_dir/mosquitto.conf"
    set -- "$mosquitto_bin" -c "$broker_dir/mosquitto.conf"
  fi
  python3 "$work/launch.py" "$broker_dir/status" "$broker_dir/broker.log" "$port" "$@" &
  launcher_pid=$!
  local ready=accepting_ms
  [[ $kind == ours ]] && ready=listening_ms
  for ((i = 0; i < 1200; i++)); do
    broker_pid=$(status_field pid)
    ready_ms=$(status_field "$ready")
    [[ -n "$ready_ms" ]] && break
    alive "$launcher_pid" || { log "$kind exited at start:"; cat "$broker_dir/broker.log" >&2; exit 1; }
    sleep 0.05
  done
  [[ -n "$ready_ms" && -n "$broker_pid" ]] || { log "$kind did not start within 60 s"; exit 1; }
  # Ours logs `listening:` for the port; let the port check catch up so both are recorded.
  for ((i = 0; i < 100; i++)); do [[ -n "$(status_field accepting_ms)" ]] && break; sleep 0.02; done
}

rss_mib() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$broker_pid/status" 2>/dev/null || true; }
io_written() { awk '/^write_bytes:/ { print $2 }' "/proc/$broker_pid/io" 2>/dev/null || true; }

# stop_broker KIND: SIGTERM, wait for the exit; sets written_before (bytes written before the
# signal), written_total, stop_s (signal to exit).
stop_broker() {
  local kind=$1 i sent_at
  if ! alive "$broker_pid"; then
    notes+=("$kind died during '$current'; its log ends: $(tail -n3 "$broker_dir/broker.log" | tr '\n' ' ')")
  fi
  written_before=$(io_written)
  sent_at=$(date +%s.%N)
  kill -TERM "$broker_pid" 2>/dev/null || true
  for ((i = 0; i < 1200; i++)); do alive "$launcher_pid" || break; sleep 0.05; done
  if alive "$launcher_pid"; then
    notes+=("$kind did not exit within 60 s of SIGTERM (killed)")
    kill -KILL "$broker_pid" 2>/dev/null || true
  fi
  wait "$launcher_pid" 2>/dev/null || true
  written_total=$(status_field exit_write_bytes)
  stop_s=$(awk -v a="$sent_at" -v b="$(status_field exited_at)" 'BEGIN { printf "%.2f", b - a }')
  local rc
  rc=$(status_field exit_status)
  [[ "$rc" == 0 ]] || notes+=("$kind ($current) exited with status ${rc:-unknown} (negative: signal)")
  if grep -qiE 'dropp|queue full|corrupt|damaged' "$broker_dir/broker.log"; then
    notes+=("$kind ($current): $(grep -iE -m1 'dropp|queue full|corrupt|damaged' "$broker_dir/broker.log" | cut -c1-200)")
  fi
  broker_pid=""
  launcher_pid=""
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
# load LABEL ARGS...: runs mqtt-load against $port; sets out (its RESULT line).
load() {
  local label=$1
  shift
  out=$(timeout 600 "$load_bin" "$@" --port "$port" 2>"$work/load.err" | grep '^RESULT' | tail -n1) || true
  echo "$kind $label $out" >>"$work/raw.txt"
  [[ -s "$work/load.err" ]] && notes+=("$kind ($label): $(tr '\n' ' ' <"$work/load.err")")
  [[ -n "$out" && "$out" != *error=* ]] || notes+=("$kind ($label): no result (${out:-nothing})")
}
store_bytes() { # bytes of the broker's files in DIR on disk
  if [[ $1 == ours ]]; then du -sb "$2/data/store" | cut -f1; else stat -c %s "$2/mosquitto.db"; fi
}
per() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b + 0 == 0) print ""; else printf "%.1f", a / b }'; }
mib() { awk -v a="$1" 'BEGIN { if (a == "") print ""; else printf "%.1f", a / 1048576 }'; }

# Ours promises a change on disk within 1 s: after this, "before SIGTERM" is what a crash keeps.
settle_s=2
declare -A v
started=$(date +%s)
for kind in ${brokers//,/ }; do
  # 1. Write volume of retained updates, paced (each topic updated every topics/rate seconds)
  #    and as fast as the broker takes them.
  for mode in paced burst; do
    current="retained $mode"
    start_broker "$kind" "$work/$kind-$mode"
    pace=()
    [[ $mode == paced ]] && pace=(--rate "$rate")
    load "retained_$mode" retained --count "$updates" --topics "$topics" --topic-prefix r "${pace[@]}"
    v[$mode.rate/$kind]=$(field msgs_per_s "$out")
    sleep "$settle_s"
    stop_broker "$kind"
    v[$mode.before/$kind]=$(per "$written_before" "$updates")
    v[$mode.total/$kind]=$(per "$written_total" "$updates")
    log "$kind retained $mode: ${v[$mode.rate/$kind]} updates/s, ${v[$mode.before/$kind]} B/update before stop, ${v[$mode.total/$kind]} at exit"
    rm -rf "$work/$kind-$mode"
  done

  # 2. QoS 1 to persistent sessions: bytes written per message.
  current=persistent
  start_broker "$kind" "$work/$kind-persistent"
  load persistent persistent --pairs 10 --duration 5 --warmup 1 --offline 500
  sleep "$settle_s"
  stop_broker "$kind"
  sent=$(field sent_total "$out")
  v[persist.rate/$kind]=$(field msgs_per_s "$out")
  v[persist.before/$kind]=$(per "$written_before" "$sent")
  v[persist.total/$kind]=$(per "$written_total" "$sent")
  for f in lost offline_lost unacked skipped reordered downgraded disconnects; do
    n=$(field "$f" "$out")
    [[ -z "$n" || "$n" == 0 ]] || notes+=("$kind (persistent): $f=$n")
  done
  log "$kind persistent: ${v[persist.rate/$kind]} msgs/s, ${v[persist.total/$kind]} B/message"
  rm -rf "$work/$kind-persistent"

  # 3. Restart with many retained messages: fill, stop, start again, read them all back.
  current="startup fill"
  dir="$work/$kind-startup"
  start_broker "$kind" "$dir"
  load fill retained --count "$startup_count" --topic-prefix s
  v[fill.rate/$kind]=$(field msgs_per_s "$out")
  v[fill.rss/$kind]=$(rss_mib)
  stop_broker "$kind"
  v[fill.stop/$kind]=$stop_s
  v[disk/$kind]=$(mib "$(store_bytes "$kind" "$dir")")
  current="startup"
  start_broker "$kind" "$dir"
  v[start.ready/$kind]=$ready_ms
  v[start.accept/$kind]=$(status_field accepting_ms)
  v[start.rss/$kind]=$(rss_mib)
  load read retained-read --count "$startup_count" --topic-prefix s --idle 3
  v[read.received/$kind]=$(field received "$out")
  v[read.s/$kind]=$(field seconds "$out")
  for f in missing duplicates stale; do
    n=$(field "$f" "$out")
    [[ -z "$n" || "$n" == 0 ]] || notes+=("$kind (retained after restart): $f=$n of $startup_count")
  done
  stop_broker "$kind"
  v[restart.written/$kind]=$(mib "$written_total")
  log "$kind start-up: ${v[start.ready/$kind]} ms to ready, ${v[read.received/$kind]} retained back in ${v[read.s/$kind]} s"
  rm -rf "$dir"
done

table() {
  printf '%-62s | %10s | %10s | %s\n' "measurement" "ours" "mosquitto" "ratio (>1: ours better)"
  printf '%s\n' "---------------------------------------------------------------|------------|------------|------------------------"
  local key label dir o m ratio
  while IFS='|' read -r key label dir; do
    o=${v[$key/ours]:-}
    m=${v[$key/mosquitto]:-}
    [[ -z "$o" && -z "$m" ]] && continue
    ratio=$(awk -v d="$dir" -v o="$o" -v m="$m" 'BEGIN {
      if (d == "-" || o == "" || m == "" || o + 0 <= 0 || m + 0 <= 0) { print "-"; exit }
      printf "%.2f", (d == "up") ? o / m : m / o }')
    printf '%-62s | %10s | %10s | %s\n' "$label" "${o:--}" "${m:--}" "$ratio"
  done <<EOF
paced.rate|retained, paced: updates/s sent ($updates over $topics topics)|-
paced.before|retained, paced: bytes written per update before SIGTERM|-
paced.total|retained, paced: bytes written per update incl. shutdown|down
burst.rate|retained, unpaced: updates/s|up
burst.before|retained, unpaced: bytes written per update before SIGTERM|-
burst.total|retained, unpaced: bytes written per update incl. shutdown|down
persist.rate|QoS 1 to 10 persistent sessions: msgs/s|up
persist.before|QoS 1 persistent: bytes written per message before SIGTERM|-
persist.total|QoS 1 persistent: bytes written per message incl. shutdown|down
fill.rate|$startup_count retained x 100 B: publish rate, msgs/s|up
fill.rss|$startup_count retained: VmRSS after publishing, MiB|down
fill.stop|$startup_count retained: SIGTERM to exit, s|down
disk|$startup_count retained: data on disk after stop, MiB|down
start.ready|restart: to ready, ms (ours: listening line; mosq: port)|down
start.accept|restart: to the port accepting connections, ms|down
start.rss|restart: VmRSS once ready, MiB|down
read.received|restart: retained messages a '#' subscriber received|up
read.s|restart: seconds to receive them|-
restart.written|restart + stop without changes: MiB written|down
EOF
}

{
  echo
  echo "ours: $broker_bin (durability default); $("$mosquitto_bin" -h 2>/dev/null | head -n1 || true)"
  echo "mosquitto: persistence true, persistence_location <dir>/, everything else default"
  echo "(autosave_interval 1800: it writes its whole database every 30 minutes and at shutdown)"
  echo "bytes written: write_bytes of /proc/<pid>/io (before SIGTERM, and read after exit)"
  table
  if [[ ${#notes[@]} -gt 0 ]]; then
    echo
    echo "notes:"
    printf '  - %s\n' "${notes[@]}"
  fi
  echo
  echo "total time: $(($(date +%s) - started)) s"
} | tee "$work/table.txt"

if [[ -n "$results_dir" ]]; then
  mkdir -p "$results_dir"
  stamp=$(date +%Y%m%d-%H%M%S)
  cp "$work/table.txt" "$results_dir/storage-$stamp.txt"
  cp "$work/raw.txt" "$results_dir/storage-$stamp.raw.txt"
  log "written to $results_dir/storage-$stamp.txt"
fi
