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
import sys
import tempfile
import unittest
from pathlib import Path
from typing import Callable

# No __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_addon  # noqa: E402
import simple_yaml  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[2]
FILES = ["config.json", "CMakeLists.txt", "translations/en.yaml", "Dockerfile", "DOCS.md",
         "CHANGELOG.md"]


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

    def edit_text(self, name: str, old: str, new: str) -> None:
        path = self.root / name
        text = path.read_text(encoding="utf-8")
        if not re.search(old, text, re.MULTILINE):
            raise AssertionError(f"{name} no longer contains {old!r}; update this test")
        path.write_text(re.sub(old, new, text, count=1, flags=re.MULTILINE), encoding="utf-8")


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
        self.files.edit_config(lambda c: c["arch"].remove("armhf"))
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
        self.files.edit_text("DOCS.md", r"`max_queued_messages`", "max queued messages")
        self.files.edit_text("DOCS.md", r"`max_queued_messages`", "max queued messages")
        self.assert_problem("DOCS.md: option 'max_queued_messages' is not explained")

    def test_changelog_without_the_version(self) -> None:
        self.files.edit_text("CHANGELOG.md", r"^## \d+\.\d+\.\d+", "## Unreleased")
        self.assert_problem("CHANGELOG.md: no heading for version")


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
    def test_reads_en_yaml_as_a_yaml_library_does(self) -> None:
        import yaml  # only where installed; CI reads the file with simple_yaml alone

        text = (REPOSITORY / "translations" / "en.yaml").read_text(encoding="utf-8")
        self.assertEqual(simple_yaml.parse(text), yaml.safe_load(text))


if __name__ == "__main__":
    unittest.main()
