#!/usr/bin/env bash
# Draws the add-on store's pictures from the SVGs in art/: icon.png (128x128) from art/icon.svg
# and logo.png (250x100) from art/logo.svg, at the repository root where the Supervisor looks for
# them. The PNGs are committed (the store and the image build read them from the repository);
# run this after changing an SVG and commit both. tests/packaging checks the PNGs' sizes.
#
#   bash scripts/make-images.sh
#
# rsvg-convert comes from Debian's librsvg2-bin (scripts/install-deps.sh installs it).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

command -v rsvg-convert >/dev/null 2>&1 ||
  { echo "make-images: no rsvg-convert: run bash scripts/install-deps.sh" >&2; exit 1; }

render() {
  local svg="$1" png="$2" width="$3" height="$4"
  # Rendered beside the target and moved into place, so a failed render leaves the old picture.
  rsvg-convert --width "$width" --height "$height" --format png \
    --output "$repo_root/$png.tmp" "$repo_root/$svg"
  mv "$repo_root/$png.tmp" "$repo_root/$png"
  echo "make-images: $svg -> $png (${width}x${height})"
}

render art/icon.svg icon.png 128 128
render art/logo.svg logo.png 250 100
