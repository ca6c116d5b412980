#!/usr/bin/env bash
# Runs the same load scenarios against this broker and Mosquitto (and FlashMQ, when FLASHMQ_BIN
# names its binary), alternately, each run on a freshly started broker, and prints one table:
# scenario | ours | mosquitto | ratio (with FlashMQ: a column and a ratio more).
# See bench/README.md for what each row measures and how to read it.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$repo/build"
duration=5
warmup=1
rounds=2
connections=10000
latency_count=10000
load_threads=2
broker_threads=""
only=""
results_dir="$repo/bench/results"
do_build=1
# FlashMQ is not packaged: bench/README.md says how to build it. Without it, two brokers.
flashmq_bin=${FLASHMQ_BIN:-}
flashmq_threads=2
brokers="ours,mosquitto"
[[ -n "$flashmq_bin" ]] && brokers="ours,mosquitto,flashmq"
noise_row=pubsub_10

usage() {
  cat <<EOF
usage: bench/compare.sh [flags]
  --build-dir DIR      where mqtt-broker and bench/mqtt-load are (default: $repo/build)
  --no-build           fail instead of building missing binaries
  --duration S         measured seconds per throughput run (default $duration)
  --warmup S           unmeasured seconds before each throughput run (default $warmup)
  --rounds N           runs per broker and scenario, alternating; the best counts (default $rounds)
  --connections N      idle connections for the memory row (default $connections)
  --latency-count N    round trips for the latency rows (default $latency_count)
  --load-threads N     threads of the load generator (default $load_threads)
  --broker-threads N   --threads of our broker (default: its own default, one per core)
  --only LIST          comma-separated subset of: pubsub_1,pubsub_10,fanout,fanin,qos1,latency,idle,
                       pubsub_10_1k (10 pairs, 1 KiB payloads), fanout_1000 (1 -> 1000 subscribers),
                       latency_5k (open loop: p50/p99 of 5,000 msg/s sent on a timer),
                       retained_100k (broker RSS per retained message, then 100,000 retained
                       messages to a new subscriber of <prefix>/r/#),
                       ws_1,ws_10,ws_latency,tls_1,tls_10,tls_latency,
                       v5_1,v5_10,v5_fanout,v5_qos1,v5_latency (the same with MQTT 5.0 clients),
                       persist (QoS 1 to persistent sessions, both brokers persisting)
                       pair_1k,stuck (1 pair at 1 KiB, without and with a never-reading subscriber)
  --brokers LIST       ours,mosquitto (default), plus flashmq when FLASHMQ_BIN is set; one of
                       them alone to check a single broker
  --flashmq-threads N  thread_count of FlashMQ (default $flashmq_threads)
  --noise-row ROW      throughput row run twice on Mosquitto, once per run, for the noise floor
                       (default $noise_row; 'none' = skip)
  --results-dir DIR    also write the table and raw lines here (default bench/results; '' = off)
environment:
  FLASHMQ_BIN          a FlashMQ binary: adds it as a third broker (see bench/README.md)
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --latency-count) latency_count=$2; shift 2 ;;
    --load-threads) load_threads=$2; shift 2 ;;
    --broker-threads) broker_threads=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --results-dir) results_dir=$2; shift 2 ;;
    --brokers) brokers=$2; shift 2 ;;
    --flashmq-threads) flashmq_threads=$2; shift 2 ;;
    --noise-row) noise_row=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "compare.sh: unknown flag '$1' (see --help)" >&2; exit 2 ;;
  esac
done

log() { echo "compare.sh: $*" >&2; }

for b in ${brokers//,/ }; do
  case $b in
    ours | mosquitto) ;;
    flashmq)
      if [[ -z "$flashmq_bin" ]]; then
        log "--brokers flashmq needs FLASHMQ_BIN=<path of the flashmq binary> (see bench/README.md)"
        exit 2
      fi ;;
    *) log "unknown broker '$b' in --brokers (ours, mosquitto, flashmq)"; exit 2 ;;
  esac
done
with_flashmq=0
[[ ",$brokers," == *",flashmq,"* ]] && with_flashmq=1
if [[ $with_flashmq == 1 && ! ( -x "$flashmq_bin" && -f "$flashmq_bin" ) ]]; then
  log "FLASHMQ_BIN=$flashmq_bin is not an executable file"
  exit 2
fi
[[ $flashmq_threads =~ ^[1-9][0-9]*$ ]] || { log "--flashmq-threads wants a whole number from 1"; exit 2; }
case $noise_row in
  none | pubsub_1 | pubsub_10 | pubsub_10_1k | fanout | fanout_1000 | fanin | qos1) ;;
  v5_1 | v5_10 | v5_fanout | v5_qos1) ;;
  *) log "--noise-row wants a TCP throughput row (pubsub_1, pubsub_10, pubsub_10_1k, fanout, fanout_1000, fanin, qos1, v5_*) or none"
     exit 2 ;;
esac
for r in ${only//,/ }; do
  case $r in
    pubsub_1|pubsub_10|fanout|fanin|qos1|latency|idle) ;;
    pubsub_10_1k|fanout_1000|latency_5k|retained_100k) ;;
    ws_1|ws_10|ws_latency|tls_1|tls_10|tls_latency) ;;
    v5_1|v5_10|v5_fanout|v5_qos1|v5_latency) ;;
    persist) ;;
    pair_1k|stuck) ;;
    *) log "unknown row '$r' in --only (see --help)"; exit 2 ;;
  esac
done

first_executable() {
  local f
  for f in "$@"; do
    if [[ -x "$f" && -f "$f" ]]; then echo "$f"; return 0; fi
  done
  return 1
}

find_binaries() {
  broker_bin=$(first_executable "$build_dir/mqtt-broker" "$build_dir/src/app/mqtt-broker") || true
  load_bin=$(first_executable "$build_dir/bench/mqtt-load" "$build_dir/mqtt-load") || true
}

want_ours=0
[[ ",$brokers," == *",ours,"* ]] && want_ours=1
targets=(mqtt-load)
[[ $want_ours == 1 ]] && targets+=(mqtt-broker)
missing() { [[ -z "$load_bin" || ( $want_ours == 1 && -z "$broker_bin" ) ]]; }

find_binaries
if missing; then
  if [[ $do_build == 0 ]]; then
    log "${targets[*]} not all found in $build_dir (build them, or drop --no-build)"
    exit 1
  fi
  log "building ${targets[*]} in $build_dir"
  if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
    cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DMQTT_BROKER_BENCH=ON >&2
  fi
  cmake --build "$build_dir" --target "${targets[@]}" -j2 >&2
  find_binaries
  if missing; then
    log "the build did not produce ${targets[*]} in $build_dir"
    exit 1
  fi
fi
mosquitto_bin=$(command -v mosquitto || true)
[[ -n "$mosquitto_bin" ]] || mosquitto_bin=$(first_executable /usr/sbin/mosquitto) || {
  log "mosquitto not found (apt-get install mosquitto)"
  exit 1
}

# Both brokers and the generator inherit this: 10,000 sockets each plus a margin.
want_files=$((connections + 1024))
if (( $(ulimit -Hn) < want_files )); then ulimit -Hn "$want_files" 2>/dev/null || true; fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (( $(ulimit -n) < want_files )); then
  connections=$(( $(ulimit -n) - 1024 ))
  log "open file limit is $(ulimit -n): the idle row uses $connections connections"
fi

work=$(mktemp -d /tmp/mqtt-bench.XXXXXX)
broker_pid=""
cleanup() {
  if [[ -n "$broker_pid" ]]; then kill -KILL "$broker_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

alive() { [[ -e /proc/$1 ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

runs=0
notes=()

# The rows over WebSocket and TLS run the same scenarios through the brokers' other listeners.
row_transport() {
  case $1 in
    ws_*) echo ws ;;
    tls_*) echo tls ;;
    *) echo tcp ;;
  esac
}

# One self-signed certificate for 127.0.0.1, made when a TLS row runs; both brokers serve it.
ssl_dir="$work/ssl"
make_certificate() {
  [[ -f "$ssl_dir/fullchain.pem" ]] && return 0
  mkdir -p "$ssl_dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$ssl_dir/privkey.pem" -out "$ssl_dir/fullchain.pem" 2>/dev/null
}
current_transport=tcp

# Rows whose point is how a broker bounds a client that falls behind keep every broker's default
# queue limits; everywhere else the limits are raised far above what the publishers' window can
# queue, so that no broker drops a message and each figure is a rate, not a drop count.
defaults_row() { [[ $current_row == pair_1k || $current_row == stuck ]]; }

write_ours_options() { # write_ours_options FILE
  if defaults_row; then
    echo '{"logins":[{"username":"bench","password":"bench"}]}' >"$1"
  else
    cat >"$1" <<JSON
{"logins":[{"username":"bench","password":"bench"}],
 "max_client_buffer_mb":64,"max_queued_messages":1000000,"max_queued_mb":256,
 "max_total_buffer_mb":4096}
JSON
  fi
}

write_mosquitto_config() { # write_mosquitto_config DIR
  local dir=$1
  {
    # As root, mosquitto would switch to its own user, who cannot read this private dir.
    [[ $(id -u) == 0 ]] && echo "user root"
    case $current_transport in
      tcp) echo "listener $broker_port 127.0.0.1" ;;
      ws)
        # Mosquitto 2.0.11 does not start with a websockets listener alone, and binds that
        # one to every address whatever the line says.
        echo "listener $(free_port) 127.0.0.1"
        echo "listener $broker_port 127.0.0.1"
        echo "protocol websockets"
        ;;
      tls)
        echo "listener $broker_port 127.0.0.1"
        echo "certfile $ssl_dir/fullchain.pem"
        echo "keyfile $ssl_dir/privkey.pem"
        ;;
    esac
    echo "allow_anonymous false"
    echo "password_file $dir/passwd"
    echo "persistence false"
    if [[ $current_row == persist ]]; then
      # Stores sessions, like ours always does; Mosquitto reads the later line.
      echo "persistence true"
      echo "persistence_location $dir/"
    fi
    echo "max_connections -1"
    # 0: no limit on the messages queued for one client (default 1000, QoS 0 ones included).
    defaults_row || echo "max_queued_messages 0"
    echo "log_dest stdout"
  } >"$dir/mosquitto.conf"
}

write_flashmq_config() { # write_flashmq_config DIR
  local dir=$1
  {
    echo "thread_count $flashmq_threads"
    # What this shell allows, as the other brokers inherit (FlashMQ would ask for 1,000,000).
    echo "rlimit_nofile $(ulimit -n)"
    echo "allow_anonymous false"
    echo "mosquitto_password_file $dir/passwd"
    if ! defaults_row; then
      # Defaults 512 messages and 64 KiB of QoS 1/2 messages per client, and a 1 MiB write
      # buffer past which QoS 0 messages are dropped (silently).
      echo "max_qos_msg_pending_per_client 65535"
      echo "max_qos_bytes_pending_per_client 1073741824"
      echo "client_max_write_buffer_size 67108864"
    fi
    # Without storage_dir FlashMQ persists nothing; it saves at shutdown and every hour.
    if [[ $current_row == persist ]]; then
      mkdir -p "$dir/store"
      echo "storage_dir $dir/store"
    fi
    echo "listen {"
    case $current_transport in
      ws) echo "  protocol websockets" ;;
      *) echo "  protocol mqtt" ;;
    esac
    echo "  inet_protocol ip4"
    echo "  inet4_bind_address 127.0.0.1"
    echo "  port $broker_port"
    if [[ $current_transport == tls ]]; then
      echo "  fullchain $ssl_dir/fullchain.pem"
      echo "  privkey $ssl_dir/privkey.pem"
    fi
    echo "}"
  } >"$dir/flashmq.conf"
}

# start_broker KIND: sets broker_pid, broker_port, broker_log. The listener on broker_port speaks
# $current_transport (tcp, ws or tls). A FlashMQ that exits at start leaves broker_pid empty.
start_broker() {
  local kind=$1 dir
  runs=$((runs + 1))
  dir="$work/$kind.$runs"
  mkdir -p "$dir"
  broker_port=$(free_port)
  broker_log="$dir/broker.log"
  case $kind in
    ours)
      write_ours_options "$dir/options.json"
      local extra=()
      [[ -n "$broker_threads" ]] && extra=(--threads "$broker_threads")
      local ports=(--mqtt-port "$broker_port" --ws-port 0 --mqtts-port 0 --wss-port 0 --ingress-port 0)
      case $current_transport in
        ws) ports=(--mqtt-port 0 --ws-port "$broker_port" --mqtts-port 0 --wss-port 0 --ingress-port 0) ;;
        tls) ports=(--mqtt-port 0 --ws-port 0 --mqtts-port "$broker_port" --wss-port 0 --ingress-port 0 --ssl-dir "$ssl_dir") ;;
      esac
      "$broker_bin" --options "$dir/options.json" --data-dir "$dir/data" --bind 127.0.0.1 \
        "${ports[@]}" "${extra[@]}" >"$broker_log" 2>&1 &
      broker_pid=$!
      ;;
    mosquitto)
      mosquitto_passwd -c -b "$dir/passwd" bench bench
      write_mosquitto_config "$dir"
      "$mosquitto_bin" -c "$dir/mosquitto.conf" >"$broker_log" 2>&1 &
      broker_pid=$!
      ;;
    flashmq)
      # FlashMQ reads Mosquitto's password files, the PBKDF2 ($7$) hashes of mosquitto_passwd too.
      mosquitto_passwd -c -b "$dir/passwd" bench bench
      write_flashmq_config "$dir"
      # Without log_file in its configuration FlashMQ logs to stdout; it stays in the foreground.
      "$flashmq_bin" --config-file "$dir/flashmq.conf" >"$broker_log" 2>&1 &
      broker_pid=$!
      ;;
  esac
  local i
  for ((i = 0; i < 100; i++)); do
    if ! alive "$broker_pid"; then
      if [[ $kind == flashmq ]]; then
        # A reference broker that refuses a row's configuration costs that row's figure, not the
        # whole run: broker_pid empty tells run_scenario, which notes why.
        wait "$broker_pid" 2>/dev/null || true
        broker_pid=""
        return 0
      fi
      log "$kind broker exited at start; its log:"; cat "$broker_log" >&2; exit 1
    fi
    if [[ $kind == ours ]]; then
      grep -q 'listening:' "$broker_log" 2>/dev/null && return 0
    elif (exec 3<>"/dev/tcp/127.0.0.1/$broker_port") 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  log "$kind broker did not start listening within 10 s; its log:"; cat "$broker_log" >&2
  exit 1
}

stop_broker() { # stop_broker KIND WHO
  local kind=$1 who=$2 i rc=0
  kill -TERM "$broker_pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do alive "$broker_pid" || break; sleep 0.1; done
  if alive "$broker_pid"; then
    notes+=("$current_row/$who: the broker did not exit within 10 s of SIGTERM (killed)")
    kill -KILL "$broker_pid" 2>/dev/null || true
  fi
  wait "$broker_pid" 2>/dev/null || rc=$?
  if [[ $rc != 0 && $kind == ours ]]; then notes+=("our broker exited with status $rc after SIGTERM"); fi
  # The brokers say so in their log when a client's queue overflows and messages are dropped
  # (FlashMQ only for QoS 1 and 2: it drops QoS 0 past its write buffer without a word).
  if grep -qiE 'dropp|queue limit|overflow' "$broker_log"; then
    notes+=("$current_row/$who broker logged drops: $(grep -ciE 'dropp|queue limit|overflow' "$broker_log") lines, e.g. '$(grep -iE -m1 'dropp|queue limit|overflow' "$broker_log")'")
  fi
  broker_pid=""
}

field() { # field NAME LINE
  sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"
}

# run_scenario ROW KIND [WHO]: runs mqtt-load for ROW against a fresh broker; sets result_line
# (empty when the broker could not run the row). WHO names the run in notes (default KIND).
run_scenario() {
  local row=$1 kind=$2 who=${3:-$2} args out
  current_row=$row
  current_transport=$(row_transport "$row")
  [[ $current_transport == tls ]] && make_certificate
  start_broker "$kind"
  if [[ -z "$broker_pid" ]]; then
    result_line=""
    local last
    last=$(tail -n1 "$broker_log")
    notes+=("$row/$who: '-': the broker did not start with this row's configuration: ${last:-its log is empty}")
    return 0
  fi
  # One publisher and one subscriber gain nothing from a second generator thread but the
  # cross-thread hand-offs, which take CPU from the broker on a small machine.
  local threads=$load_threads
  [[ $row == pubsub_1 || $row == ws_1 || $row == tls_1 || $row == v5_1 || $row == pair_1k ||
    $row == stuck || $row == latency_5k ]] && threads=1
  local common=(--port "$broker_port" --threads "$threads" --duration "$duration"
                --warmup "$warmup" --transport "$current_transport")
  case $row in
    pubsub_1) args=(pubsub --pairs 1) ;;
    pubsub_10) args=(pubsub --pairs 10) ;;
    pubsub_10_1k) args=(pubsub --pairs 10 --payload 1024 --name pubsub_10_1k) ;;
    fanout) args=(fanout --subscribers 100) ;;
    # The window is per message and fan-out multiplies it: 100 messages ahead of the slowest
    # subscriber keep at most 100,000 deliveries queued in the broker, as the fanout row's 1,000
    # for 100 subscribers. With 1,000 it would be a million, and the row would measure how a
    # broker copes with a million queued messages (the slower brokers' windows then stay shut
    # past the stall limit and the backlog shows as lost).
    fanout_1000) args=(fanout --subscribers 1000 --window 100) ;;
    fanin) args=(fanin --publishers 100) ;;
    qos1) args=(pubsub --pairs 10 --qos 1) ;;
    persist) args=(persistent --pairs 10 --offline 800) ;;
    pair_1k) args=(pubsub --pairs 1 --payload 1024 --broker-pid "$broker_pid") ;;
    stuck) args=(pubsub --pairs 1 --payload 1024 --stuck 1 --broker-pid "$broker_pid") ;;
    latency | *_latency) args=(latency --count "$latency_count") ;;
    # Open loop: 5,000 msg/s on a timer, --warmup seconds of them unmeasured.
    latency_5k) args=(latency --rate 5000 --count "$latency_count") ;;
    # 100,000 topics, 64-byte payloads; the broker's VmRSS before and after the fill.
    retained_100k) args=(retained-new-sub --count 100000 --payload 64 --broker-pid "$broker_pid") ;;
    ws_1 | tls_1 | v5_1) args=(pubsub --pairs 1) ;;
    v5_fanout) args=(fanout --subscribers 100) ;;
    v5_qos1) args=(pubsub --pairs 10 --qos 1) ;;
    ws_10 | tls_10 | v5_10) args=(pubsub --pairs 10) ;;
    idle) args=(idle --connections "$connections" --broker-pid "$broker_pid" --hold 0) ;;
  esac
  # The v5_ rows repeat rows above with MQTT 5.0 clients, to compare the two protocol paths.
  [[ $row == v5_* ]] && args+=(--protocol 5)
  # mqtt-load bounds its own waits; this bounds mqtt-load.
  local limit
  limit=$(awk -v d="$duration" -v w="$warmup" 'BEGIN { printf "%d", d + w + 180 }')
  out=$(timeout "$limit" "$load_bin" "${args[@]}" "${common[@]}" 2>"$work/load.err") || true
  result_line=$(grep '^RESULT' <<<"$out" | tail -n1 || true)
  echo "$who $result_line" >>"$work/raw.txt"
  if [[ -s "$work/load.err" ]]; then
    notes+=("$row/$who: $(tr '\n' ' ' <"$work/load.err")")
  fi
  if ! alive "$broker_pid"; then
    notes+=("$row/$who: the broker died during the run")
    wait "$broker_pid" 2>/dev/null || true
    broker_pid=""
  else
    stop_broker "$kind" "$who"
  fi
  local v
  for v in lost unacked stalls reordered skipped downgraded disconnects dropped failed foreign \
    stray_acks duplicates not_retained stale; do
    local n
    n=$(field "$v" "$result_line")
    if [[ -n "$n" && "$n" != 0 ]]; then notes+=("$row/$who: $v=$n"); fi
  done
  if [[ -z "$result_line" || "$result_line" == *error=* ]]; then
    notes+=("$row/$who: no result (${result_line:-mqtt-load printed nothing})")
  fi
}

# better DIRECTION A B: prints the better of two numbers (empty counts as worst).
better() {
  if [[ -z "$2" ]]; then echo "$3"; return; fi
  if [[ -z "$3" ]]; then echo "$2"; return; fi
  awk -v d="$1" -v a="$2" -v b="$3" 'BEGIN { if ((d == "up") == (a + 0 >= b + 0)) print a; else print b }'
}

declare -A best
record() { # record ROWKEY KIND DIRECTION VALUE
  local k="$1/$2"
  best[$k]=$(better "$3" "${best[$k]:-}" "$4")
}

all_rows=(pubsub_1 pubsub_10 pubsub_10_1k fanout fanout_1000 fanin qos1 latency latency_5k idle
  retained_100k ws_1 ws_10 ws_latency tls_1 tls_10 tls_latency)
all_rows+=(v5_1 v5_10 v5_fanout v5_qos1 v5_latency persist pair_1k stuck)
rows=()
for r in "${all_rows[@]}"; do
  if [[ -z "$only" || ",$only," == *",$r,"* ]]; then rows+=("$r"); fi
done

# record_result ROW KIND: keeps the best of result_line's figures for ROW under KIND.
record_result() {
  local row=$1 kind=$2 n
  case $row in
    latency | *_latency)
      record "${row}_p50" "$kind" down "$(field p50_us "$result_line")"
      record "${row}_p99" "$kind" down "$(field p99_us "$result_line")"
      log "$row round $round $kind: p50 $(field p50_us "$result_line") us, p99 $(field p99_us "$result_line") us" ;;
    latency_5k)
      record latency_5k_p50 "$kind" down "$(field p50_us "$result_line")"
      record latency_5k_p99 "$kind" down "$(field p99_us "$result_line")"
      # The generator's own lateness, noted after the rows (the worst round per broker).
      record latency_5k_lag "$kind" up "$(field send_lag_p99_us "$result_line")"
      log "$row round $round $kind: p50 $(field p50_us "$result_line") us, p99 $(field p99_us "$result_line") us, sent $(field sent_per_s "$result_line")/s"
      ;;
    retained_100k)
      record retained_100k_rss "$kind" down "$(field bytes_per_retained "$result_line")"
      n=$(field missing "$result_line")
      if [[ -n "$n" && "$n" != 0 ]]; then
        # A time to "all of them" would be a time to fewer: noted, not recorded.
        notes+=("retained_100k/$kind round $round: the new subscriber got $(field received "$result_line") of $(field expected "$result_line") retained messages (missing=$n)")
      else
        record retained_100k_s "$kind" down "$(field seconds "$result_line")"
      fi
      log "$row round $round $kind: $(field bytes_per_retained "$result_line") bytes per retained message, $(field received "$result_line") delivered in $(field seconds "$result_line") s"
      ;;
    persist)
      record persist "$kind" up "$(field msgs_per_s "$result_line")"
      record persist_offline "$kind" up "$(field offline_msgs_per_s "$result_line")"
      n=$(field offline_lost "$result_line")
      [[ -z "$n" || "$n" == 0 ]] || notes+=("persist/$kind: offline_lost=$n")
      log "$row round $round $kind: $(field msgs_per_s "$result_line") msgs/s, offline $(field offline_msgs_per_s "$result_line")" ;;
    pair_1k | stuck)
      record "$row" "$kind" up "$(field msgs_per_s "$result_line")"
      record "${row}_rss" "$kind" down "$(field rss_growth_mib "$result_line")"
      log "$row round $round $kind: $(field msgs_per_s "$result_line") msgs/s, broker RSS +$(field rss_growth_mib "$result_line") MiB" ;;
    idle)
      record idle "$kind" down "$(field kib_per_conn "$result_line")"
      log "$row round $round $kind: $(field kib_per_conn "$result_line") KiB per connection" ;;
    *)
      record "$row" "$kind" up "$(field msgs_per_s "$result_line")"
      log "$row round $round $kind: $(field msgs_per_s "$result_line") msgs/s" ;;
  esac
}

started=$(date +%s)
mosquitto_version=$("$mosquitto_bin" -h 2>/dev/null | head -n1 || true)
flashmq_version=""
if [[ $with_flashmq == 1 ]]; then
  flashmq_version=$("$flashmq_bin" --version 2>/dev/null | head -n1 || true)
  log "flashmq: $flashmq_bin (${flashmq_version:-version unknown}), thread_count $flashmq_threads"
fi
log "ours: ${broker_bin:-not used}; mosquitto: $mosquitto_bin ($mosquitto_version)"
for row in "${rows[@]}"; do
  for ((round = 1; round <= rounds; round++)); do
    for kind in ${brokers//,/ }; do
      run_scenario "$row" "$kind"
      record_result "$row" "$kind"
    done
  done
done

# Sends due every 200 us that left much later say that the generator, sharing the cores, could
# not keep the pace: its catching-up bursts are then part of what the broker saw.
for kind in ${brokers//,/ }; do
  n=${best[latency_5k_lag/$kind]:-}
  if [[ -n "$n" ]] && awk -v n="$n" 'BEGIN { exit !(n > 1000) }'; then
    notes+=("latency_5k/$kind: 1% of the generator's sends left $n us or more behind schedule (worst round)")
  fi
done

# The noise floor: one throughput row, Mosquitto against Mosquitto, alternating as above. Both
# sides run the same binary, so how far their ratio lies from 1 is what chance alone does to a
# ratio on this machine at this moment.
noise_line=""
if [[ $noise_row != none && ",$brokers," == *",mosquitto,"* ]]; then
  for ((round = 1; round <= rounds; round++)); do
    for side in a b; do
      run_scenario "$noise_row" mosquitto "mosquitto-noise-$side"
      record_result "$noise_row" "noise_$side"
    done
  done
  noise_line=$(awk -v a="${best[$noise_row/noise_a]:-}" -v b="${best[$noise_row/noise_b]:-}" \
    -v r="$noise_row" -v n="$rounds" 'BEGIN {
    if (a + 0 <= 0 || b + 0 <= 0) { printf "noise floor: mosquitto/mosquitto = n/a (%s gave no figure)", r; exit }
    lo = a < b ? a : b; hi = a < b ? b : a
    printf "noise floor: mosquitto/mosquitto = %.2f (%s, msgs/s: %s vs %s, best of %d run(s) each):", a / b, r, a, b, n
    printf " a ratio within %.0f%% of 1 may be chance\n", 100 * (1 - lo / hi) }')
fi

# ratio DIRECTION OURS OTHER: above 1 when ours is better, n/a without both figures.
ratio() {
  awk -v d="$1" -v o="$2" -v m="$3" 'BEGIN {
    if (o == "" || m == "" || o + 0 <= 0 || m + 0 <= 0) { print "n/a"; exit }
    printf "%.2f", (d == "up") ? o / m : m / o }'
}

table() {
  if [[ $with_flashmq == 1 ]]; then
    printf '%-44s | %12s | %12s | %12s | %14s | %s\n' "scenario" "ours" "mosquitto" "flashmq" \
      "ours/mosquitto" "ours/flashmq"
    printf '%s\n' "---------------------------------------------|--------------|--------------|--------------|----------------|-------------"
  else
    printf '%-44s | %12s | %12s | %s\n' "scenario" "ours" "mosquitto" "ratio (>1: ours better)"
    printf '%s\n' "---------------------------------------------|--------------|--------------|------------------------"
  fi
  local key label dir o m f
  while IFS='|' read -r key label dir; do
    o=${best[$key/ours]:-}
    m=${best[$key/mosquitto]:-}
    f=${best[$key/flashmq]:-}
    [[ -z "$o" && -z "$m" && -z "$f" ]] && continue
    if [[ $with_flashmq == 1 ]]; then
      printf '%-44s | %12s | %12s | %12s | %14s | %s\n' "$label" "${o:--}" "${m:--}" "${f:--}" \
        "$(ratio "$dir" "$o" "$m")" "$(ratio "$dir" "$o" "$f")"
    else
      printf '%-44s | %12s | %12s | %s\n' "$label" "${o:--}" "${m:--}" "$(ratio "$dir" "$o" "$m")"
    fi
  done <<EOF
pubsub_1|1 pub -> 1 sub, msgs/s|up
pubsub_10|10 pairs, msgs/s|up
pubsub_10_1k|10 pairs, 1 KiB, msgs/s|up
fanout|fan-out 1 -> 100, deliveries/s|up
fanout_1000|fan-out 1 -> 1000, deliveries/s|up
fanin|fan-in 100 -> 1, msgs/s|up
qos1|QoS 1, 10 pairs, msgs/s|up
latency_p50|latency p50, us|down
latency_p99|latency p99, us|down
latency_5k_p50|latency p50 at 5k msg/s, us|down
latency_5k_p99|latency p99 at 5k msg/s, us|down
idle|memory per idle connection, KiB ($connections)|down
retained_100k_rss|RSS per retained message, bytes|down
retained_100k_s|100k retained to a new # subscriber, s|down
ws_1|WebSocket: 1 pub -> 1 sub, msgs/s|up
ws_10|WebSocket: 10 pairs, msgs/s|up
ws_latency_p50|WebSocket: latency p50, us|down
ws_latency_p99|WebSocket: latency p99, us|down
tls_1|TLS: 1 pub -> 1 sub, msgs/s|up
tls_10|TLS: 10 pairs, msgs/s|up
tls_latency_p50|TLS: latency p50, us|down
tls_latency_p99|TLS: latency p99, us|down
v5_1|MQTT 5.0: 1 pub -> 1 sub, msgs/s|up
v5_10|MQTT 5.0: 10 pairs, msgs/s|up
v5_fanout|MQTT 5.0: fan-out 1 -> 100, deliveries/s|up
v5_qos1|MQTT 5.0: QoS 1, 10 pairs, msgs/s|up
v5_latency_p50|MQTT 5.0: latency p50, us|down
v5_latency_p99|MQTT 5.0: latency p99, us|down
persist|QoS 1 to a persistent session, msgs/s|up
persist_offline|QoS 1 queued offline, then drained, msgs/s|up
pair_1k|1 pub -> 1 sub, 1 KiB, msgs/s|up
pair_1k_rss|  broker RSS growth meanwhile, MiB|down
stuck|same + 1 never-reading sub: the reader's msgs/s|up
stuck_rss|  broker RSS growth meanwhile, MiB|down
EOF
}

{
  echo
  echo "ours: ${broker_bin:-not run}${broker_threads:+ --threads $broker_threads}; $mosquitto_version"
  if [[ $with_flashmq == 1 ]]; then
    echo "flashmq: $flashmq_bin (${flashmq_version:-version unknown}), thread_count $flashmq_threads;"
    echo "queue limits raised on all three (but for the 1 KiB and never-reading-sub rows)"
  fi
  echo "best of $rounds alternating runs per broker; ${duration}s measured after ${warmup}s warm-up;"
  echo "generator: $load_threads threads (1 for the 1-pair and latency rows), 64-byte payloads (1 KiB where a row says);"
  echo "$(nproc) cores shared by the broker and the generator: compare ratios, not absolute figures"
  if [[ $with_flashmq == 1 ]]; then
    echo "ratios: above 1 means ours is better (ours/other for rates, other/ours for latency and memory)"
  fi
  table
  if [[ -n "$noise_line" ]]; then
    echo
    echo "$noise_line"
  fi
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
  cp "$work/table.txt" "$results_dir/compare-$stamp.txt"
  cp "$work/raw.txt" "$results_dir/compare-$stamp.raw.txt"
  log "written to $results_dir/compare-$stamp.txt"
fi
