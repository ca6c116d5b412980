#!/usr/bin/env python3
"""Checks that the committed icon.png and logo.png are what scripts/make-images.sh draws today.

    python3 tests/packaging/check_images.py [REPOSITORY_ROOT]

Renders art/icon.svg and art/logo.svg with rsvg-convert (scripts/install-deps.sh installs it) at
the store's sizes into a temporary folder and compares the pixels with the committed PNGs: an SVG
changed without running scripts/make-images.sh fails here. Pixels may differ by a little (another
librsvg release may round an edge differently); a changed drawing differs by far more.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import store_rules  # noqa: E402

PICTURES = [("art/icon.svg", "icon.png", store_rules.ICON_SIZE),
            ("art/logo.svg", "logo.png", store_rules.LOGO_SIZE)]
# Per channel (0-255): anti-aliasing may differ this much; and this share of the pixels may differ
# at all. A moved line or a new colour changes far more.
CHANNEL_TOLERANCE = 32
DIFFERING_SHARE = 0.002


def paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def rgba_pixels(data: bytes, name: str) -> tuple[int, int, list[bytes]]:
    """The rows of an 8-bit RGBA or RGB PNG, unfiltered (what rsvg-convert writes)."""
    problems: list[str] = []
    size = store_rules.png_size(data, name, problems)
    if size is None:
        raise ValueError("; ".join(problems))
    width, height = size
    offset, idat, depth, color = 8, b"", 0, 0
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            depth, color = body[8], body[9]
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    if depth != 8 or color not in (2, 6):
        raise ValueError(f"{name}: not 8-bit RGB or RGBA (colour type {color}, depth {depth})")
    channels = 4 if color == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytes(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            upper_left = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                line[x] = (line[x] + paeth(left, up, upper_left)) & 0xFF
            elif kind != 0:
                raise ValueError(f"{name}: unknown filter {kind} in row {y}")
        previous = bytes(line)
        if channels == 3:
            line = bytearray(b"".join(line[i:i + 3] + b"\xff" for i in range(0, stride, 3)))
        rows.append(bytes(line))
    return width, height, rows


def compare(committed: bytes, rendered: bytes, name: str) -> str | None:
    width, height, ours = rgba_pixels(committed, name)
    r_width, r_height, theirs = rgba_pixels(rendered, f"{name} as rendered now")
    if (width, height) != (r_width, r_height):
        return f"{name}: {width}x{height}, the SVG renders at {r_width}x{r_height}"
    differing, worst = 0, 0
    for row_a, row_b in zip(ours, theirs):
        for x in range(0, len(row_a), 4):
            delta = max(abs(row_a[x + i] - row_b[x + i]) for i in range(4))
            worst = max(worst, delta)
            if delta > CHANNEL_TOLERANCE:
                differing += 1
    if differing > DIFFERING_SHARE * width * height:
        return (f"{name}: {differing} of {width * height} pixels differ from the SVG's rendering "
                f"(largest difference {worst}); run bash scripts/make-images.sh and commit")
    return None


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
    rsvg = shutil.which("rsvg-convert")
    if rsvg is None:
        print("images: no rsvg-convert: run bash scripts/install-deps.sh")
        return 1
    problems = []
    with tempfile.TemporaryDirectory() as scratch:
        for svg, png, (width, height) in PICTURES:
            out = Path(scratch, png)
            subprocess.run([rsvg, "--width", str(width), "--height", str(height), "--format",
                            "png", "--output", str(out), str(root / svg)], check=True)
            try:
                problem = compare((root / png).read_bytes(), out.read_bytes(), png)
            except (OSError, ValueError) as error:
                problem = f"{png}: {error}"
            if problem:
                problems.append(problem)
    for problem in problems:
        print(f"images: {problem}")
    if problems:
        return 1
    print(f"images: icon.png and logo.png are the renderings of art/*.svg ({root})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
