#!/usr/bin/env bash
# Runs shellcheck on every shell script of the image (rootfs/), of scripts/ and of this directory:
# the *.sh files and every file whose first line starts a shell (bash, sh, s6's with-contenv).
# Fails when shellcheck is missing (scripts/install-deps.sh installs it) or finds no script.
set -euo pipefail

repo_root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"

if ! command -v shellcheck >/dev/null 2>&1; then
  echo "shellcheck: not installed; run scripts/install-deps.sh (apt package shellcheck)" >&2
  exit 1
fi

scripts=()
while IFS= read -r -d '' file; do
  first_line="$(head -n 1 "$file")"
  if [[ "$file" == *.sh || "$first_line" =~ ^#!.*(/|[[:space:]])(ba)?sh([[:space:]]|$) ]]; then
    scripts+=("$file")
  fi
done < <(find "$repo_root/rootfs" "$repo_root/scripts" "$repo_root/tests/packaging" -type f \
  -print0 | sort -z)

if ((${#scripts[@]} == 0)); then
  echo "shellcheck: found no shell script under rootfs/, scripts/, tests/packaging/" >&2
  exit 1
fi
printf 'shellcheck: %s\n' "${scripts[@]#"$repo_root/"}"
shellcheck --severity=style "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean"
