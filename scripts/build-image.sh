#!/usr/bin/env bash
# The add-on image's build steps without Docker (none runs in CI): builds the broker as the
# Dockerfile's build stage does, lays out what its final stage holds in a staging root, then checks
# that root: file modes of the s6 service, that the binary's libraries come from the image's
# runtime packages, `mqtt-broker --version`, and a start with config.json's default options
# probed by the image's HEALTHCHECK script.
#
# The package lists, CMake flags and COPY sources are read from the Dockerfile itself, so the two
# cannot drift apart there; the install paths are checked against its COPY lines. Keep the rest in
# sync by hand: a step added to the Dockerfile belongs here too. The base image is build.yaml's for
# this machine's arch: the host must run its Debian release, as the build stands in for the image's.
#
#   scripts/build-image.sh [--build-dir DIR] [--work-dir DIR] [--stage DIR] [--no-smoke]
#
#   --build-dir DIR  reuse a configured Release build directory (such as build/): only the
#                    mqtt-broker target is built there, and the Dockerfile's sources are only
#                    configured. Without it, the sources the Dockerfile copies are copied to
#                    <work-dir>/source, configured with its flags and built in <work-dir>/build,
#                    as the image build does.
#   --work-dir DIR   where the copied sources and the builds go (default build-image/ in the
#                    checkout)
#   --stage DIR      the staging root, emptied first (default <work-dir>/rootfs)
#   --no-smoke       skip starting the staged broker
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dockerfile="$repo_root/Dockerfile"
work_dir="$repo_root/build-image"
build_dir=""
stage_dir=""
smoke=1

fail() {
  echo "build-image: FAIL: $*" >&2
  exit 1
}
step() { echo "build-image: $*"; }

while (($# > 0)); do
  case "$1" in
    --build-dir) build_dir="${2:?--build-dir needs a directory}" ;;
    --work-dir) work_dir="${2:?--work-dir needs a directory}" ;;
    --stage) stage_dir="${2:?--stage needs a directory}" ;;
    --no-smoke) smoke=0 ;;
    -h | --help) sed -n '2,23p' "$0" && exit 0 ;;
    *) fail "unknown argument '$1' (see --help)" ;;
  esac
  if [[ "$1" == --no-smoke ]]; then shift; else shift 2; fi
done
if [[ -n "$build_dir" ]]; then
  [[ -d "$build_dir" ]] || fail "no build directory $build_dir"
  build_dir="$(cd "$build_dir" && pwd)"
fi
[[ "$work_dir" = /* ]] || work_dir="$PWD/$work_dir"
[[ -n "$stage_dir" ]] || stage_dir="$work_dir/rootfs"
[[ "$stage_dir" = /* ]] || stage_dir="$PWD/$stage_dir"

# --- what the Dockerfile says --------------------------------------------------------------------

# The Dockerfile as logical lines: continuations joined, comments and blank lines dropped.
dockerfile_lines() {
  awk '
    /^[[:space:]]*#/ && line == "" { next }
    { sub(/[[:space:]]+$/, "") }
    /\\$/ { line = line substr($0, 1, length($0) - 1) " "; next }
    { line = line $0; if (line ~ /[^[:space:]]/) print line; line = "" }
  ' "$dockerfile"
}

# The default value of an ARG, whitespace squeezed.
dockerfile_arg() {
  local name="$1" line value
  line="$(dockerfile_lines |
    awk -v n="$name" '$1 == "ARG" && index($2, n "=") == 1 { print; exit }')"
  [[ -n "$line" ]] || fail "the Dockerfile declares no ARG $name with a default"
  value="${line#*"$name="}"
  value="${value#\"}"
  value="${value%\"}"
  echo "$value" | tr -s '[:space:]' ' ' | sed 's/^ //; s/ $//'
}

# The instructions of one stage: "build" for the stage named so, "final" for the last one.
dockerfile_stage() {
  local which="$1"
  dockerfile_lines | awk -v which="$which" '
    /^FROM / { stage = ($0 ~ / AS build$/) ? "build" : "final"; next }
    stage == which { print }'
}

[[ -f "$dockerfile" ]] || fail "no Dockerfile at $dockerfile"
# Each assigned on its own line: only there does a failure inside "$(...)" stop the script.
value="$(dockerfile_arg BUILD_PACKAGES)"
read -r -a build_packages <<<"$value"
value="$(dockerfile_arg RUNTIME_PACKAGES)"
read -r -a runtime_packages <<<"$value"
value="$(dockerfile_arg CMAKE_CONFIGURE_FLAGS)"
read -r -a cmake_flags <<<"$value"
image_version="$(dockerfile_arg BUILD_VERSION)"
# The build stage's own sources, as `COPY <source>... <destination>` lines.
mapfile -t copy_lines < <(dockerfile_stage build | grep -E '^COPY ' | grep -v -- '--from=' || true)
((${#copy_lines[@]} > 0)) || fail "the Dockerfile's build stage copies no sources"

final_stage="$(dockerfile_stage final)"
grep -qxE 'COPY --from=build [^ ]+/build/mqtt-broker /usr/bin/mqtt-broker' <<<"$final_stage" ||
  fail "the Dockerfile's final stage no longer copies build/mqtt-broker to /usr/bin/mqtt-broker"
grep -qxF 'COPY rootfs/ /' <<<"$final_stage" ||
  fail "the Dockerfile's final stage no longer copies rootfs/ to /"
healthcheck="$(sed -nE 's/^HEALTHCHECK .*CMD \["([^"]+)".*/\1/p' <<<"$final_stage")"
[[ -n "$healthcheck" ]] || fail "the Dockerfile's final stage has no HEALTHCHECK CMD [\"<path>\"]"

config_version="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' \
  "$repo_root/config.json")" || fail "cannot read the version of config.json"
if [[ "$image_version" != "$config_version" ]]; then
  fail "Dockerfile BUILD_VERSION $image_version differs from config.json version $config_version"
fi

# --- what build.yaml says -----------------------------------------------------------------------

# The Supervisor builds from build.yaml's base image for the machine's arch, passed as BUILD_FROM.
# This script builds on the host in that image's place, so the host must be an arch of config.json
# and, to stand for the image (package names, library versions), run the image's Debian release.
case "$(uname -m)" in
  x86_64 | amd64) host_arch=amd64 ;;
  aarch64 | arm64) host_arch=aarch64 ;;
  *) host_arch="$(uname -m)" ;;
esac
base_image="$(python3 - "$repo_root" "$host_arch" <<'PY'
import json
import sys
from pathlib import Path

root, arch = Path(sys.argv[1]), sys.argv[2]
sys.dont_write_bytecode = True
sys.path.insert(0, str(root / "tests" / "packaging"))
import simple_yaml  # the YAML subset reader the packaging tests use

try:
    bases = simple_yaml.parse((root / "build.yaml").read_text(encoding="utf-8")).get("build_from")
except (OSError, simple_yaml.YamlSubsetError) as error:
    sys.exit(f"cannot read build.yaml: {error}")
arches = json.loads((root / "config.json").read_text(encoding="utf-8"))["arch"]
if not isinstance(bases, dict):
    sys.exit("build.yaml has no build_from mapping of architectures to base images")
missing = [a for a in arches if a not in bases]
if missing:
    sys.exit(f"build.yaml names no base image for {', '.join(missing)} (config.json's arch)")
if arch not in arches:
    sys.exit(f"this machine's architecture {arch} is not one of config.json's {arches}")
print(bases[arch])
PY
)" || fail "build.yaml: see the line above"
base_release="${base_image##*:}"
step "base image for $host_arch (build.yaml): $base_image"
os_release_field() {
  { sed -nE "s/^$1=\"?([^\"]*)\"?\$/\1/p" /etc/os-release 2>/dev/null || true; } | head -n 1
}
host_id="$(os_release_field ID)"
host_release="$(os_release_field VERSION_CODENAME)"
if [[ "$host_id" == debian ]]; then
  [[ "$host_release" == "$base_release" ]] ||
    fail "this host runs Debian $host_release, the base image Debian $base_release: a build here" \
      "does not stand for the image's"
  step "this host runs Debian $host_release, as the base image does"
else
  step "this host is not Debian (${host_id:-unknown}): not comparing it with Debian $base_release"
fi

# --- build stage ---------------------------------------------------------------------------------

if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for package in "${build_packages[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)"
    [[ "$status" == "install ok installed" ]] || missing+=("$package")
  done
  ((${#missing[@]} == 0)) ||
    fail "build packages missing: ${missing[*]} (run scripts/install-deps.sh)"
else
  step "no dpkg-query: not checking the build packages ${build_packages[*]}"
fi

# The build stage's sources: only what the Dockerfile copies, so a source it forgets to copy breaks
# this build as it would break the image's.
source_dir="$work_dir/source"
rm -rf "$source_dir"
mkdir -p "$source_dir"
for line in "${copy_lines[@]}"; do
  read -r -a words <<<"${line#COPY }"
  destination="${words[-1]}"
  [[ "$destination" != /* ]] || fail "unsupported absolute COPY destination in: $line"
  mkdir -p "$source_dir/$destination"
  for source in "${words[@]:0:${#words[@]}-1}"; do
    # As COPY does: a directory's contents, or a file, into the destination directory.
    if [[ -d "$repo_root/$source" ]]; then
      cp -a "$repo_root/$source/." "$source_dir/$destination/"
    elif [[ -f "$repo_root/$source" ]]; then
      cp -a "$repo_root/$source" "$source_dir/$destination/"
    else
      fail "the Dockerfile copies $source, which does not exist"
    fi
  done
done

jobs="${JOBS:-$(nproc)}"
if [[ -n "$build_dir" ]]; then
  # Configuring the copied sources finds a missing CMakeLists.txt or source file in seconds; the
  # binary itself comes from the given build, which compiled the same sources.
  step "configuring the Dockerfile's sources: ${cmake_flags[*]}"
  cmake -S "$source_dir" -B "$work_dir/configure-check" "${cmake_flags[@]}" >/dev/null ||
    fail "the sources the Dockerfile copies do not configure"
  [[ -f "$build_dir/CMakeCache.txt" ]] || fail "$build_dir is not a configured CMake build"
  grep -qx 'CMAKE_BUILD_TYPE:STRING=Release' "$build_dir/CMakeCache.txt" ||
    fail "$build_dir is not a Release build; the image is built with ${cmake_flags[*]}"
  step "building mqtt-broker in $build_dir"
  cmake --build "$build_dir" -j"$jobs" --target mqtt-broker
else
  build_dir="$work_dir/build"
  step "configuring $build_dir: ${cmake_flags[*]}"
  cmake -S "$source_dir" -B "$build_dir" "${cmake_flags[@]}"
  cmake --build "$build_dir" -j"$jobs" --target mqtt-broker
fi
binary="$build_dir/mqtt-broker"
[[ -x "$binary" ]] || fail "no mqtt-broker binary at $binary"

# --- final stage ---------------------------------------------------------------------------------

step "staging the image's files in $stage_dir"
rm -rf "$stage_dir"
mkdir -p "$stage_dir"
install -D -m 0755 "$binary" "$stage_dir/usr/bin/mqtt-broker"
cp -a "$repo_root/rootfs/." "$stage_dir/"

# --- checks --------------------------------------------------------------------------------------

# s6-overlay v3: the service is a longrun in the user bundle, its scripts executable (Docker's COPY
# keeps the modes git recorded; s6 cannot run a script without its x bit).
service_dir="$stage_dir/etc/s6-overlay/s6-rc.d/mqtt-broker"
[[ "$(cat "$service_dir/type" 2>/dev/null)" == "longrun" ]] ||
  fail "${service_dir#"$stage_dir"}/type must say longrun"
[[ -e "$stage_dir/etc/s6-overlay/s6-rc.d/user/contents.d/mqtt-broker" ]] ||
  fail "the mqtt-broker service is not in the user bundle (user/contents.d/mqtt-broker)"
for script in run finish; do
  [[ -f "$service_dir/$script" ]] || fail "the service has no $script script"
done
grep -qE '^exec /usr/bin/mqtt-broker( |$)' "$service_dir/run" ||
  fail "the run script does not exec /usr/bin/mqtt-broker"
while IFS= read -r -d '' file; do
  if [[ "$(head -c 2 "$file")" == "#!" && ! -x "$file" ]]; then
    fail "${file#"$stage_dir"} is a script without its executable bit (chmod +x, then git add)"
  fi
done < <(find "$stage_dir" -type f -print0)
[[ -x "$stage_dir$healthcheck" ]] || fail "the HEALTHCHECK command $healthcheck is not executable"

# Every flag the run script passes must be one the binary knows.
help_text="$("$stage_dir/usr/bin/mqtt-broker" --help)" || fail "mqtt-broker --help failed"
while read -r flag; do
  grep -qF -- "$flag " <<<"$help_text" || fail "the run script passes $flag, unknown to mqtt-broker"
done < <(grep -oE -- '--[a-z][a-z-]*' "$service_dir/run" | sort -u)

# Libraries: all found, and each from a runtime package of the Dockerfile or from what every
# Debian base holds (apt itself needs the C and C++ runtimes).
base_packages=(libc6 libgcc-s1 libstdc++6)
ldd_output="$(ldd "$stage_dir/usr/bin/mqtt-broker")" || fail "ldd failed on the binary"
if grep -q 'not found' <<<"$ldd_output"; then
  fail "unresolved libraries: $(grep 'not found' <<<"$ldd_output" | tr -s ' \t' ' ')"
fi
package_of() {
  local path="$1" candidate owner
  for candidate in "$path" "$(readlink -f "$path")" "${path#/usr}" "/usr$path"; do
    owner="$(dpkg-query -S "$candidate" 2>/dev/null | head -n 1)" || continue
    [[ -n "$owner" ]] && echo "${owner%%:*}" && return 0
  done
  return 1
}
if command -v dpkg-query >/dev/null 2>&1; then
  allowed=" ${runtime_packages[*]} ${base_packages[*]} "
  while read -r library path; do
    package="$(package_of "$path")" || fail "no Debian package owns $path ($library)"
    [[ "$allowed" == *" $package "* ]] ||
      fail "$library comes from $package, not in the Dockerfile's RUNTIME_PACKAGES"
    step "library $library from $package"
  done < <(awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' <<<"$ldd_output")
fi

version_line="$("$stage_dir/usr/bin/mqtt-broker" --version)" || fail "mqtt-broker --version failed"
[[ "$version_line" == "mqtt-broker $config_version" ]] ||
  fail "mqtt-broker --version says '$version_line', config.json says $config_version"
step "$version_line"

# --- smoke: the staged broker starts with the add-on's default options ---------------------------

if ((smoke)); then
  smoke_dir="$(mktemp -d)"
  broker_pid=""
  cleanup() {
    if [[ -n "$broker_pid" ]] && kill -0 "$broker_pid" 2>/dev/null; then
      kill -KILL "$broker_pid" 2>/dev/null || true
    fi
    rm -rf "$smoke_dir"
  }
  trap cleanup EXIT

  # What the Supervisor writes on first install: the "options" of config.json.
  python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))["options"], sys.stdout)' \
    "$repo_root/config.json" >"$smoke_dir/options.json"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0));
print(s.getsockname()[1])')"
  mkdir -p "$smoke_dir/data"
  env -u SUPERVISOR_TOKEN -u HASSIO_TOKEN "$stage_dir/usr/bin/mqtt-broker" \
    --options "$smoke_dir/options.json" --data-dir "$smoke_dir/data" \
    --ssl-dir "$smoke_dir" --share-dir "$smoke_dir" --bind 127.0.0.1 --mqtt-port "$port" \
    --ws-port 0 --mqtts-port 0 --wss-port 0 --ingress-port 0 --threads 1 >"$smoke_dir/broker.log" 2>&1 &
  broker_pid=$!

  deadline=$((SECONDS + 15))
  until "$stage_dir$healthcheck" "$port" 2>/dev/null; do
    if ! kill -0 "$broker_pid" 2>/dev/null; then
      status=0
      wait "$broker_pid" || status=$?
      cat "$smoke_dir/broker.log" >&2
      fail "the broker exited with status $status at start with config.json's default options"
    fi
    ((SECONDS < deadline)) || fail "the HEALTHCHECK did not pass within 15 s"
    sleep 0.2
  done
  step "HEALTHCHECK passes against the staged broker on 127.0.0.1:$port"

  kill -TERM "$broker_pid"
  deadline=$((SECONDS + 10))
  while kill -0 "$broker_pid" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "the broker did not exit within 10 s of SIGTERM"
    sleep 0.1
  done
  status=0
  wait "$broker_pid" || status=$?
  broker_pid=""
  ((status == 0)) || { cat "$smoke_dir/broker.log" >&2; fail "exit status $status after SIGTERM"; }
  if "$stage_dir$healthcheck" "$port" 2>/dev/null; then
    fail "the HEALTHCHECK still passes with the broker stopped"
  fi
  step "the broker stops cleanly on SIGTERM, and the HEALTHCHECK then fails"
fi

step "OK: the image's files are in $stage_dir"
