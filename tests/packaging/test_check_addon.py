"""The packaging checker catches each kind of breakage it is there for.

Every test copies the repository's packaging files to a temporary directory, breaks them in one
way, and expects check_addon.check() to name that problem; the unbroken copy must pass, so each
failure comes from the one change. Run: python3 -m unittest -v test_check_addon (in this folder).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import struct
import sys
import tempfile
import unittest
import zlib
from pathlib import Path
from typing import Callable

# No __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_addon  # noqa: E402
import simple_yaml  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[2]
FILES = ["config.json", "CMakeLists.txt", "translations/en.yaml", "Dockerfile", "DOCS.md",
         "CHANGELOG.md", "repository.yaml", "build.yaml", "icon.png", "logo.png"]


class Packaging:
    """A copy of the packaging files that a test may break."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for name in FILES:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPOSITORY / name, root / name)

    def edit_config(self, change: Callable[[dict], None]) -> None:
        path = self.root / "config.json"
        config = json.loads(path.read_text(encoding="utf-8"))
        change(config)
        path.write_text(json.dumps(config, indent=2), encoding="utf-8")

    def add(self, name: str, text: str) -> None:
        (self.root / name).parent.mkdir(parents=True, exist_ok=True)
        (self.root / name).write_text(text, encoding="utf-8")

    def edit_text(self, name: str, old: str, new: str) -> None:
        path = self.root / name
        text = path.read_text(encoding="utf-8")
        if not re.search(old, text, re.MULTILINE):
            raise AssertionError(f"{name} no longer contains {old!r}; update this test")
        path.write_text(re.sub(old, new, text, count=1, flags=re.MULTILINE), encoding="utf-8")


def png(width: int, height: int) -> bytes:
    """A valid grey PNG of that size, as any image tool would write it."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\0" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


class CheckerCatchesBreakage(unittest.TestCase):
    def setUp(self) -> None:
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        self.files = Packaging(Path(directory.name))

    def assert_problem(self, expected: str) -> None:
        problems = check_addon.check(self.files.root)
        self.assertTrue(any(expected in problem for problem in problems),
                        f"expected a problem containing {expected!r}, got {problems}")

    def test_the_unbroken_copy_passes(self) -> None:
        self.assertEqual(check_addon.check(self.files.root), [])

    def test_missing_required_key(self) -> None:
        self.files.edit_config(lambda c: c.pop("name"))
        self.assert_problem("required key 'name' is missing")

    def test_obsolete_watchdog(self) -> None:
        self.files.edit_config(lambda c: c.update(watchdog="tcp://[HOST]:[PORT:1883]"))
        self.assert_problem("'watchdog' is obsolete")

    def test_obsolete_advanced(self) -> None:
        self.files.edit_config(lambda c: c.update(advanced=True))
        self.assert_problem("'advanced' is obsolete")

    def test_key_set_to_its_default(self) -> None:
        self.files.edit_config(lambda c: c.update(boot="auto"))
        self.assert_problem("'boot' is set to its default")

    def test_init_left_on(self) -> None:
        self.files.edit_config(lambda c: c.update(init=True))
        self.assert_problem("'init' is set to its default")

    def test_startup_missing(self) -> None:
        self.files.edit_config(lambda c: c.pop("startup"))
        self.assert_problem("'startup' must be \"system\"")

    def test_auth_api_off(self) -> None:
        self.files.edit_config(lambda c: c.update(auth_api=False))
        self.assert_problem("'auth_api' must be true")

    def test_misspelt_key(self) -> None:
        self.files.edit_config(lambda c: c.update({"auth-api": True}))
        self.assert_problem("unknown key 'auth-api'")

    def test_missing_arch(self) -> None:
        self.files.edit_config(lambda c: c["arch"].remove("amd64"))
        self.assert_problem("'arch' must list exactly")

    def test_deprecated_arch(self) -> None:
        self.files.edit_config(lambda c: c["arch"].append("armv7"))
        self.assert_problem("'arch' must list exactly")

    def test_version_differs_from_cmake(self) -> None:
        self.files.edit_text("CMakeLists.txt", r"VERSION \d+\.\d+\.\d+", "VERSION 9.9.9")
        self.assert_problem("differs from the CMake project VERSION 9.9.9")

    def test_port_without_description(self) -> None:
        self.files.edit_config(lambda c: c["ports_description"].pop("8884/tcp"))
        self.assert_problem("'ports' and 'ports_description' name different ports")

    def test_map_without_share(self) -> None:
        self.files.edit_config(lambda c: c.update(map=[{"type": "ssl"}]))
        self.assert_problem("'map' must hold share")

    def test_map_read_only_set_to_its_default(self) -> None:
        self.files.edit_config(lambda c: c.update(map=[{"type": "ssl", "read_only": True},
                                                       {"type": "share"}]))
        self.assert_problem("read_only true is the default")

    def test_option_without_schema(self) -> None:
        self.files.edit_config(lambda c: c["options"].update(retain_forever=True))
        self.assert_problem("option 'retain_forever' has a default but no schema entry")

    def test_required_schema_entry_without_default(self) -> None:
        self.files.edit_config(lambda c: c["schema"].update(bind_address="str"))
        self.assert_problem("schema 'bind_address' is required but has no default")

    def test_invalid_schema_type(self) -> None:
        self.files.edit_config(lambda c: c["schema"].update(certfile="string"))
        self.assert_problem("'string' is not a valid option type")

    def test_invalid_nested_schema_type(self) -> None:
        self.files.edit_config(lambda c: c["schema"]["acl"][0].update(access="enum(read)"))
        self.assert_problem("schema acl[].access: 'enum(read)' is not a valid option type")

    def test_optional_option_given_a_default(self) -> None:
        self.files.edit_config(lambda c: c["options"].update(cafile="ca.pem"))
        self.assert_problem("schema 'cafile' is optional ('?') but 'options' gives it a default")

    def test_default_that_does_not_fit_its_type(self) -> None:
        self.files.edit_config(lambda c: c["options"]["customize"].update(active="no"))
        self.assert_problem("customize.active = 'no' does not fit 'bool'")

    def test_expected_option_removed(self) -> None:
        self.files.edit_config(lambda c: c["schema"].pop("durability"))
        self.assert_problem("option 'durability' is missing from the schema")

    def test_option_without_label(self) -> None:
        self.files.edit_text("translations/en.yaml", r"^  keyfile:\n(    .*\n)+", "")
        self.assert_problem("option 'keyfile' has no label")

    def test_nested_field_without_label(self) -> None:
        self.files.edit_text("translations/en.yaml", r"^      topic:\n(        .*\n)+", "")
        self.assert_problem("field 'acl.topic' has no label")

    def test_label_without_description(self) -> None:
        self.files.edit_text("translations/en.yaml",
                             r"^(  certfile:\n    name: .*\n)    description: .*\n", r"\1")
        self.assert_problem("option 'certfile' has no description")

    def test_port_without_network_label(self) -> None:
        self.files.edit_text("translations/en.yaml", r"^  1884/tcp: .*\n", "")
        self.assert_problem("'network' must describe exactly the ports")

    def test_translations_outside_the_subset(self) -> None:
        self.files.edit_text("translations/en.yaml", r"^network:\n", "network:\n  - 1883/tcp\n")
        self.assert_problem("lists are not supported")

    def test_dockerfile_without_default_base(self) -> None:
        self.files.edit_text("Dockerfile", r"^ARG BUILD_FROM=\S+", "ARG BUILD_FROM")
        self.assert_problem("needs 'ARG BUILD_FROM=<image>'")

    def test_dockerfile_without_healthcheck(self) -> None:
        self.files.edit_text("Dockerfile", r"^HEALTHCHECK ", "# HEALTHCHECK ")
        self.assert_problem("Dockerfile: has no HEALTHCHECK")

    def test_dockerfile_version_behind(self) -> None:
        self.files.edit_text("Dockerfile", r"^ARG BUILD_VERSION=\S+", "ARG BUILD_VERSION=0.0.1")
        self.assert_problem("ARG BUILD_VERSION default must be config.json's version")

    def test_option_not_in_docs(self) -> None:
        while "`max_queued_messages`" in (self.files.root / "DOCS.md").read_text(encoding="utf-8"):
            self.files.edit_text("DOCS.md", r"`max_queued_messages`", "max queued messages")
        self.assert_problem("DOCS.md: option 'max_queued_messages' is not explained")

    def test_changelog_without_the_version(self) -> None:
        self.files.edit_text("CHANGELOG.md", r"^## \d+\.\d+\.\d+", "## Unreleased")
        self.assert_problem("CHANGELOG.md: no heading for version")

    def test_changelog_newer_than_the_version(self) -> None:
        self.files.edit_text("CHANGELOG.md", r"^## ", "## 9.9.9\n\n- next\n\n## ")
        self.assert_problem("CHANGELOG.md: the newest entry is 9.9.9, config.json's version is")

    def test_changelog_unreleased_heading_allowed(self) -> None:
        self.files.edit_text("CHANGELOG.md", r"^## ", "## Unreleased\n\n- next\n\n## ")
        self.assertEqual(check_addon.check(self.files.root), [])

    # --- what the Supervisor's add-on store reads ---------------------------------------------

    def test_no_repository_file(self) -> None:
        (self.files.root / "repository.yaml").unlink()
        self.assert_problem("there must be exactly repository.yaml at the root, found []")

    def test_repository_without_name(self) -> None:
        self.files.edit_text("repository.yaml", r"^name: .*\n", "")
        self.assert_problem("repository.yaml: 'name' must be a non-empty text")

    def test_repository_misspelt_key(self) -> None:
        self.files.edit_text("repository.yaml", r"^maintainer:", "maintainers:")
        self.assert_problem("repository.yaml: unknown key 'maintainers'")

    def test_repository_url_not_https(self) -> None:
        self.files.edit_text("repository.yaml", r"^url: https:", "url: http:")
        self.assert_problem("repository.yaml: 'url' must be an https address")

    def test_addon_url_outside_the_repository(self) -> None:
        self.files.edit_config(lambda c: c.update(url="https://www.home-assistant.io/"))
        self.assert_problem("config.json: 'url' must be the DOCS.md of the repository")

    def test_second_repository_file_in_a_folder(self) -> None:
        self.files.add("docs/repository.json", "{}")
        self.assert_problem("there must be exactly repository.yaml at the root")

    def test_second_addon_config_found_by_the_scan(self) -> None:
        self.files.add("tests/fixtures/config.yaml", "name: x\n")
        self.assert_problem("the store scan must find exactly one add-on")

    def test_configs_the_scan_skips(self) -> None:
        # Dot folders and rootfs/ are not scanned, and other suffixes are not configurations.
        self.files.add(".github/config.yml", "x: y\n")
        self.files.add("rootfs/etc/app/config.json", "{}")
        self.files.add("tests/config.json.orig", "{}")
        self.assertEqual(check_addon.check(self.files.root), [])

    def test_second_build_file(self) -> None:
        self.files.add("tests/build.json", "{}")
        self.assert_problem("there must be exactly build.yaml at the root")

    def test_build_without_an_arch(self) -> None:
        self.files.edit_text("build.yaml", r"^  aarch64: .*\n", "")
        self.assert_problem("'build_from' must name exactly the architectures of config.json")

    def test_build_base_of_another_arch(self) -> None:
        self.files.edit_text("build.yaml", r"aarch64-base-debian", "amd64-base-debian")
        self.assert_problem("build.yaml: aarch64: ghcr.io/home-assistant/amd64-base-debian")

    def test_build_base_of_another_release(self) -> None:
        self.files.edit_text("build.yaml", r"amd64-base-debian:\w+", "amd64-base-debian:trixie")
        self.assert_problem("is Debian trixie, the Dockerfile's default base is Debian bookworm")

    def test_build_base_not_debian(self) -> None:
        self.files.edit_text("build.yaml", r"amd64-base-debian:\w+", "amd64-base:3.21")
        self.assert_problem("build.yaml: amd64: 'ghcr.io/home-assistant/amd64-base:3.21' is not")

    def test_build_squash(self) -> None:
        self.files.add("build.yaml", (self.files.root / "build.yaml").read_text() + "squash: 'x'\n")
        self.assert_problem("build.yaml: 'squash' is ignored")

    def test_icon_missing(self) -> None:
        (self.files.root / "icon.png").unlink()
        self.assert_problem("icon.png: cannot read it")

    def test_icon_of_the_wrong_size(self) -> None:
        (self.files.root / "icon.png").write_bytes(png(64, 128))
        self.assert_problem("icon.png: 64x128, the store wants 128x128")

    def test_logo_of_the_wrong_size(self) -> None:
        (self.files.root / "logo.png").write_bytes(png(250, 250))
        self.assert_problem("logo.png: 250x250, the store wants 250x100")

    def test_a_made_png_of_the_right_size_passes(self) -> None:
        (self.files.root / "logo.png").write_bytes(png(250, 100))
        self.assertEqual(check_addon.check(self.files.root), [])

    def test_logo_not_a_png(self) -> None:
        (self.files.root / "logo.png").write_bytes(b"<svg/>")
        self.assert_problem("logo.png: not a PNG file")

    def test_icon_damaged(self) -> None:
        data = bytearray((self.files.root / "icon.png").read_bytes())
        data[40] ^= 0xFF
        (self.files.root / "icon.png").write_bytes(bytes(data))
        self.assert_problem("icon.png: bad CRC")

    def test_icon_truncated(self) -> None:
        data = (self.files.root / "icon.png").read_bytes()
        (self.files.root / "icon.png").write_bytes(data[:-12])
        self.assert_problem("icon.png: does not end with IEND")

    def test_docs_not_opening_with_the_switch(self) -> None:
        self.files.edit_text("DOCS.md", r"^## Switching from the Mosquitto add-on",
                             "## Switching brokers")
        self.assert_problem("DOCS.md: the first section must be the switch from the Mosquitto")


class SimpleYaml(unittest.TestCase):
    def test_nested_keys_quoted_keys_and_folded_text(self) -> None:
        text = ('---\n# comment\nconfiguration:\n  a:\n    name: Plain text, with commas\n'
                '    description: >-\n      first line\n      second line\nnetwork:\n'
                '  "1883/tcp": "MQTT: plain"\n  \'x\': \'it\'\'s\'\n')
        self.assertEqual(simple_yaml.parse(text), {
            "configuration": {"a": {"name": "Plain text, with commas",
                                    "description": "first line second line"}},
            "network": {"1883/tcp": "MQTT: plain", "x": "it's"},
        })

    def test_refuses_what_yaml_would_read_otherwise(self) -> None:
        for text in ("a: true\n", "a: 12\n", "a: x: y\n", "a: text # comment\n", "a: *alias\n",
                     "a: |\n  x\n", "a: b\na: c\n", "a:\n\tb: c\n", "a:\n", "a: [1]\n"):
            with self.subTest(text=text), self.assertRaises(simple_yaml.YamlSubsetError):
                simple_yaml.parse(text)

    @unittest.skipUnless(importlib.util.find_spec("yaml"), "PyYAML is not installed")
    def test_reads_the_yaml_files_as_a_yaml_library_does(self) -> None:
        import yaml  # only where installed; CI reads the file with simple_yaml alone

        for name in ("translations/en.yaml", "repository.yaml", "build.yaml"):
            with self.subTest(name=name):
                text = (REPOSITORY / name).read_text(encoding="utf-8")
                self.assertEqual(simple_yaml.parse(text), yaml.safe_load(text))


if __name__ == "__main__":
    unittest.main()
