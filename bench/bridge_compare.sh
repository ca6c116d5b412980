#!/usr/bin/env bash
# Messages per second over a bridge: publishers on a local broker, subscribers on a remote
# Mosquitto, the local broker bridging `topic bench/# out <qos>` to it. The local broker is this
# one, then Mosquitto with the same bridge lines; the remote is a plain Mosquitto both times.
# Prints one table: row | ours | mosquitto | ratio. See bench/README.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$repo/build"
do_build=1
duration=5
rounds=2
pairs=1
brokers="ours,mosquitto"
results_dir="$repo/bench/results"

usage() {
  cat <<EOF2
usage: bench/bridge_compare.sh [flags]
  --build-dir DIR      where mqtt-broker and bench/mqtt-load are (default: $repo/build)
  --no-build           fail instead of building missing binaries
  --duration S         measured seconds per run (default $duration)
  --rounds N           runs per row and broker; the table shows the best (default $rounds)
  --pairs N            publisher/subscriber pairs (default $pairs)
  --brokers LIST       ours,mosquitto (default); one of them alone to check a single broker
  --results-dir DIR    also write the table and raw lines here (default bench/results; '' = off)
EOF2
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    --brokers) brokers=$2; shift 2 ;;
    --results-dir) results_dir=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bridge_compare.sh: unknown flag '$1' (see --help)" >&2; exit 2 ;;
  esac
done

log() { echo "bridge_compare.sh: $*" >&2; }
for b in ${brokers//,/ }; do
  [[ $b == ours || $b == mosquitto ]] || { log "unknown broker '$b' in --brokers"; exit 2; }
done

broker_bin="$build_dir/mqtt-broker"
load_bin="$build_dir/bench/mqtt-load"
if [[ ! -x "$broker_bin" || ! -x "$load_bin" ]]; then
  [[ $do_build == 1 ]] || { log "missing $broker_bin or $load_bin (build first)"; exit 1; }
  (cd "$repo" && bash scripts/build.sh) >&2
fi
mosquitto_bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
[[ -x "$mosquitto_bin" ]] || { log "mosquitto not found (apt install mosquitto)"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/bridge-bench.XXXXXX")
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
alive() { kill -0 "$1" 2>/dev/null; }

# wait_port PORT PID LOG: until something listens on PORT, or the process died.
wait_port() {
  local i
  for ((i = 0; i < 100; i++)); do
    alive "$2" || { log "a broker exited at start; its log:"; cat "$3" >&2; exit 1; }
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  log "nothing listens on $1 after 10 s; log:"; cat "$3" >&2; exit 1
}

stop_pid() {
  local i
  kill -TERM "$1" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do alive "$1" || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}

# run_once KIND QOS DIR: sets result_line.
run_once() {
  local kind=$1 qos=$2 dir=$3 remote_port local_port remote_pid local_pid
  mkdir -p "$dir/share/mosquitto"
  remote_port=$(free_port)
  {
    [[ $(id -u) == 0 ]] && echo "user root"
    echo "listener $remote_port 127.0.0.1"
    echo "allow_anonymous true"
    echo "persistence false"
    echo "max_connections -1"
  } >"$dir/remote.conf"
  "$mosquitto_bin" -c "$dir/remote.conf" >"$dir/remote.log" 2>&1 &
  remote_pid=$!
  pids+=("$remote_pid")
  wait_port "$remote_port" "$remote_pid" "$dir/remote.log"

  local bridge="connection bench
address 127.0.0.1:$remote_port
topic bench/# out $qos
notifications false
restart_timeout 1"
  local_port=$(free_port)
  if [[ $kind == ours ]]; then
    echo "$bridge" >"$dir/share/mosquitto/bridge.conf"
    echo '{"logins":[{"username":"bench","password":"bench"}],"customize":{"active":true,"folder":"mosquitto"}}' \
      >"$dir/options.json"
    "$broker_bin" --options "$dir/options.json" --data-dir "$dir/data" --share-dir "$dir/share" \
      --bind 127.0.0.1 --mqtt-port "$local_port" --ws-port 0 --mqtts-port 0 --wss-port 0 \
      --ingress-port 0 >"$dir/local.log" 2>&1 &
  else
    mosquitto_passwd -c -b "$dir/passwd" bench bench
    {
      [[ $(id -u) == 0 ]] && echo "user root"
      echo "listener $local_port 127.0.0.1"
      echo "allow_anonymous false"
      echo "password_file $dir/passwd"
      echo "persistence false"
      echo "max_connections -1"
      echo "$bridge"
    } >"$dir/local.conf"
    "$mosquitto_bin" -c "$dir/local.conf" >"$dir/local.log" 2>&1 &
  fi
  local_pid=$!
  pids+=("$local_pid")
  wait_port "$local_port" "$local_pid" "$dir/local.log"
  # The bridge connects within a moment; its local subscription must exist before the run.
  sleep 1.5
  result_line=$("$load_bin" pubsub --pairs "$pairs" --qos "$qos" --port "$local_port" \
    --sub-port "$remote_port" --duration "$duration" --topic-prefix "bench/$kind$qos" \
    --name "bridge_qos$qos" 2>"$dir/load.err" | grep '^RESULT' || true)
  [[ -n "$result_line" ]] || result_line="RESULT bridge_qos$qos error=$(tail -1 "$dir/load.err")"
  echo "$kind $result_line" >>"$work/raw.txt"
  stop_pid "$local_pid"
  stop_pid "$remote_pid"
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

declare -A best
notes=()
runs=0
for qos in 0 1; do
  for ((round = 1; round <= rounds; round++)); do
    for kind in ${brokers//,/ }; do
      runs=$((runs + 1))
      run_once "$kind" "$qos" "$work/run$runs"
      rate=$(field msgs_per_s "$result_line")
      log "QoS $qos round $round $kind: ${rate:-error} msgs/s"
      for k in lost skipped reordered downgraded stalls disconnects; do
        v=$(field "$k" "$result_line")
        [[ -n "$v" && "$v" != 0 ]] && notes+=("QoS $qos $kind round $round: $k=$v")
      done
      [[ -z "$rate" ]] && { notes+=("QoS $qos $kind round $round: $result_line"); continue; }
      if [[ -z "${best[$kind$qos]:-}" ]] || (( rate > best[$kind$qos] )); then best[$kind$qos]=$rate; fi
    done
  done
done

table() {
  printf '| row | ours | mosquitto | ours / mosquitto |\n|---|---|---|---|\n'
  for qos in 0 1; do
    local o=${best[ours$qos]:-} m=${best[mosquitto$qos]:-} ratio=""
    [[ -n "$o" && -n "$m" && "$m" != 0 ]] && ratio=$(python3 -c "print(f'{$o/$m:.2f}')")
    printf '| bridge, %s pair(s), QoS %s, msgs/s | %s | %s | %s |\n' "$pairs" "$qos" "${o:--}" "${m:--}" "${ratio:--}"
  done
  local n
  for n in "${notes[@]}"; do echo "note: $n"; done
}
table
if [[ -n "$results_dir" ]]; then
  mkdir -p "$results_dir"
  stamp=$(date +%Y%m%d-%H%M%S)
  { table; echo; cat "$work/raw.txt"; } >"$results_dir/bridge-$stamp.txt"
  log "written to $results_dir/bridge-$stamp.txt"
fi
