"""What the Supervisor's add-on store reads from this repository, and the rules it applies.

Facts from the Supervisor's store loader (supervisor/store/data.py, repository.py, validate.py)
and its build step (supervisor/apps/build.py, validate.py), which check_addon.py runs here:

- A repository is accepted when it holds a `repository.yaml` (or .yml/.json) with a `name`, an
  optional `url` and an optional `maintainer`; other keys are dropped silently. The file is looked
  up as `**/repository.*` (the first match with one of those suffixes wins).
- Add-ons are the files `**/config.*` with a suffix .yaml, .yml or .json, outside every folder
  whose name starts with "." and every folder named "rootfs". Each one found is an add-on whose
  folder is the file's folder: here the repository root, so exactly one must be found.
- The add-on folder's `icon.png` and `logo.png` make the store's listing; `build.*`, looked up as
  `**/build.*` below the add-on folder, names the base image per architecture (`build_from`),
  passed to the Dockerfile as BUILD_FROM. An architecture of config.json missing from a
  `build_from` mapping cannot be built.
- `arch` values: aarch64 and amd64; armhf, armv7 and i386 are deprecated.
"""

from __future__ import annotations

import fnmatch
import os
import re
import struct
import subprocess
import zlib
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

import simple_yaml

CONFIG_SUFFIXES = (".yaml", ".yml", ".json")
REPOSITORY_KEYS = {"name", "url", "maintainer"}
BUILD_KEYS = {"build_from", "args", "labels", "squash"}
# supervisor/apps/validate.py RE_DOCKER_IMAGE_BUILD
RE_DOCKER_IMAGE_BUILD = re.compile(
    r"^([a-zA-Z\-\.:\d{}]+/)*?([\-\w{}]+)/([\-\w{}]+)(:[\.\-\w{}]+)?$")
# The naming of Home Assistant's Debian base images per architecture (the Mosquitto add-on's
# build.yaml: ghcr.io/home-assistant/<arch>-base-debian:<Debian release>).
RE_BASE_IMAGE = re.compile(
    r"^ghcr\.io/home-assistant/(?P<arch>[a-z0-9]+)-base-debian:(?P<release>[a-z]+)$")
# The store's pictures: the icon square, the logo about 250x100 (the add-on presentation docs).
ICON_SIZE = (128, 128)
LOGO_SIZE = (250, 100)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def repository_files(root: Path) -> list[PurePosixPath]:
    """The files a clone of the repository holds, relative to root.

    In a git checkout: the tracked files plus the untracked ones git does not ignore (a clone
    holds the former; the latter are about to be committed). Elsewhere (a copy made by a test):
    every file below root.
    """
    try:
        top = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel"],
                             capture_output=True, text=True, check=True).stdout.strip()
        if Path(top).resolve() == root.resolve():
            listed = subprocess.run(
                ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others",
                 "--exclude-standard"], capture_output=True, check=True).stdout
            return sorted({PurePosixPath(name) for name in listed.decode().split("\0") if name
                           and (root / name).is_file()})
    except (OSError, subprocess.CalledProcessError):
        pass
    files = []
    for directory, _, names in os.walk(root):
        for name in names:
            files.append(PurePosixPath(Path(directory, name).relative_to(root).as_posix()))
    return sorted(files)


def named(files: list[PurePosixPath], stem: str) -> list[PurePosixPath]:
    """`**/<stem>.*` with a configuration suffix, as find_one_filetype and the add-on scan match."""
    return [f for f in files if fnmatch.fnmatchcase(f.name, f"{stem}.*")
            and f.suffix in CONFIG_SUFFIXES]


def addon_configs(files: list[PurePosixPath]) -> list[PurePosixPath]:
    """The add-on configuration files the store scan finds (StoreData._find_app_configs)."""
    return [f for f in named(files, "config")
            if not any(part.startswith(".") or part == "rootfs" for part in f.parts)]


def check_layout(files: list[PurePosixPath], problems: list[str]) -> None:
    configs = addon_configs(files)
    if configs != [PurePosixPath("config.json")]:
        problems.append("layout: the store scan must find exactly one add-on, config.json at the "
                        f"root; it finds {[str(c) for c in configs]}")
    repositories = named(files, "repository")
    if repositories != [PurePosixPath("repository.yaml")]:
        problems.append("layout: the Supervisor reads the first **/repository.* it finds; there "
                        f"must be exactly repository.yaml at the root, found "
                        f"{[str(r) for r in repositories]}")
    builds = named(files, "build")
    if builds != [PurePosixPath("build.yaml")]:
        problems.append("layout: the Supervisor reads the first **/build.* below the add-on; "
                        f"there must be exactly build.yaml at the root, found "
                        f"{[str(b) for b in builds]}")


def read_yaml(root: Path, name: str, problems: list[str]) -> dict | None:
    try:
        text = (root / name).read_text(encoding="utf-8")
    except OSError as error:
        problems.append(f"{name}: cannot read it: {error.strerror}")
        return None
    try:
        return simple_yaml.parse(text)
    except simple_yaml.YamlSubsetError as error:
        problems.append(f"{name}: {error}")
        return None


def https_url(value: object) -> bool:
    url = urlparse(str(value))
    return url.scheme == "https" and bool(url.netloc)


def check_repository(repository: dict | None, config: dict, problems: list[str]) -> None:
    """repository.yaml (SCHEMA_REPOSITORY_CONFIG), and config.json's url pointing into it."""
    if repository is None:
        return
    for key in sorted(set(repository) - REPOSITORY_KEYS):
        problems.append(f"repository.yaml: unknown key '{key}' (the Supervisor drops it)")
    for key in sorted(REPOSITORY_KEYS):
        if not isinstance(repository.get(key), str) or not repository[key].strip():
            problems.append(f"repository.yaml: '{key}' must be a non-empty text")
    url = repository.get("url")
    if isinstance(url, str) and not https_url(url):
        problems.append("repository.yaml: 'url' must be an https address")
    # The add-on's url is its documentation, in this repository.
    if isinstance(url, str) and https_url(url):
        addon_url = str(config.get("url", ""))
        if not addon_url.startswith(url.rstrip("/") + "/") or not addon_url.endswith("/DOCS.md"):
            problems.append(f"config.json: 'url' must be the DOCS.md of the repository {url}, "
                            f"not {addon_url!r}")


def dockerfile_release(dockerfile: str | None) -> str | None:
    """The Debian release of the Dockerfile's default base image (its tag)."""
    match = re.search(r"^ARG BUILD_FROM=\S+-debian:([a-z]+)\s*$", dockerfile or "", re.MULTILINE)
    return match.group(1) if match else None


def check_build(build: dict | None, config: dict, dockerfile: str | None,
                problems: list[str]) -> None:
    """build.yaml (SCHEMA_BUILD_CONFIG): one Debian base image per architecture of config.json,
    of the Dockerfile's Debian release (the package names there are that release's)."""
    if build is None:
        return
    for key in sorted(set(build) - BUILD_KEYS):
        problems.append(f"build.yaml: unknown key '{key}' (the Supervisor drops it)")
    if "squash" in build:
        problems.append("build.yaml: 'squash' is ignored by BuildKit builds; remove it")
    bases = build.get("build_from")
    if not isinstance(bases, dict):
        problems.append("build.yaml: 'build_from' must map each architecture to its base image")
        return
    arches = config.get("arch") if isinstance(config.get("arch"), list) else []
    if set(bases) != set(arches):
        problems.append(f"build.yaml: 'build_from' must name exactly the architectures of "
                        f"config.json {sorted(arches)}, not {sorted(bases)}")
    release = dockerfile_release(dockerfile)
    if release is None:
        problems.append("Dockerfile: the BUILD_FROM default must be a <...>-debian:<release> image")
    for arch, image in sorted(bases.items()):
        match = RE_BASE_IMAGE.match(str(image))
        if not RE_DOCKER_IMAGE_BUILD.match(str(image)) or not match:
            problems.append(f"build.yaml: {arch}: {image!r} is not "
                            "ghcr.io/home-assistant/<arch>-base-debian:<release>")
            continue
        if match.group("arch") != arch:
            problems.append(f"build.yaml: {arch}: {image} is the base image of "
                            f"{match.group('arch')}")
        if release is not None and match.group("release") != release:
            problems.append(f"build.yaml: {arch}: {image} is Debian {match.group('release')}, the "
                            f"Dockerfile's default base is Debian {release}")


def png_size(data: bytes, name: str, problems: list[str]) -> tuple[int, int] | None:
    """Width and height of a PNG after checking its structure: signature, IHDR first, every
    chunk's CRC, IEND last, and image data that inflates to exactly the rows IHDR announces."""
    if not data.startswith(PNG_SIGNATURE):
        problems.append(f"{name}: not a PNG file")
        return None
    offset, chunks, idat = len(PNG_SIGNATURE), [], b""
    while offset + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        crc = data[offset + 8 + length:offset + 12 + length]
        if len(body) != length or len(crc) != 4:
            problems.append(f"{name}: truncated {kind!r} chunk")
            return None
        if zlib.crc32(kind + body) != struct.unpack(">I", crc)[0]:
            problems.append(f"{name}: bad CRC in the {kind!r} chunk")
            return None
        chunks.append((kind, body))
        if kind == b"IDAT":
            idat += body
        offset += 12 + length
        if kind == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR" or len(chunks[0][1]) != 13:
        problems.append(f"{name}: the first chunk is not IHDR")
        return None
    if chunks[-1][0] != b"IEND" or offset != len(data):
        problems.append(f"{name}: does not end with IEND")
        return None
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(color)
    if channels is None or depth not in (1, 2, 4, 8, 16) or interlace != 0:
        problems.append(f"{name}: unexpected colour type {color}, depth {depth} or interlacing")
        return None
    row_bytes = 1 + (width * channels * depth + 7) // 8
    try:
        pixels = zlib.decompress(idat)
    except zlib.error as error:
        problems.append(f"{name}: image data does not inflate: {error}")
        return None
    if len(pixels) != row_bytes * height:
        problems.append(f"{name}: image data holds {len(pixels)} bytes, not the "
                        f"{row_bytes * height} of {width}x{height}")
        return None
    return width, height


def check_picture(root: Path, name: str, wanted: tuple[int, int], problems: list[str]) -> None:
    try:
        data = (root / name).read_bytes()
    except OSError as error:
        problems.append(f"{name}: cannot read it: {error.strerror} (bash scripts/make-images.sh)")
        return
    size = png_size(data, name, problems)
    if size is not None and size != wanted:
        problems.append(f"{name}: {size[0]}x{size[1]}, the store wants {wanted[0]}x{wanted[1]} "
                        "(bash scripts/make-images.sh)")


def check_changelog(config: dict, changelog: str | None, problems: list[str]) -> None:
    """The newest version heading of CHANGELOG.md is config.json's version ("Unreleased" and
    other headings that name no version may stand above it)."""
    if changelog is None:
        return
    versions = re.findall(r"^## +v?(\d+\.\d+\.\d+\S*)\s*$", changelog, re.MULTILINE)
    if not versions:
        problems.append("CHANGELOG.md: no '## x.y.z' heading")
    elif versions[0] != config.get("version"):
        problems.append(f"CHANGELOG.md: the newest entry is {versions[0]}, config.json's "
                        f"version is {config.get('version')}")


def check_docs_opening(docs: str | None, problems: list[str]) -> None:
    """DOCS.md's first section is the switch from the Mosquitto add-on."""
    if docs is None:
        return
    first = re.search(r"^## +(.*)$", docs, re.MULTILINE)
    if not first or "Mosquitto" not in first.group(1):
        problems.append("DOCS.md: the first section must be the switch from the Mosquitto "
                        f"add-on, not {first.group(1) if first else 'missing'!r}")


def check_store(root: Path, config: dict, dockerfile: str | None, changelog: str | None,
                docs: str | None, problems: list[str]) -> None:
    check_layout(repository_files(root), problems)
    check_repository(read_yaml(root, "repository.yaml", problems), config, problems)
    check_build(read_yaml(root, "build.yaml", problems), config, dockerfile, problems)
    check_picture(root, "icon.png", ICON_SIZE, problems)
    check_picture(root, "logo.png", LOGO_SIZE, problems)
    check_changelog(config, changelog, problems)
    check_docs_opening(docs, problems)
