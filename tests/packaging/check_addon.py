#!/usr/bin/env python3
"""Checks the add-on's packaging files.

    python3 tests/packaging/check_addon.py [REPOSITORY_ROOT]

config.json against the add-on rules (config_rules.py), and that the files around it agree with
it: translations/en.yaml labels every option and port, the Dockerfile builds from a default Debian
base with a HEALTHCHECK and the same version, DOCS.md explains every option, CHANGELOG.md has an
entry for the version, the version is the CMake project's. Then what the Supervisor's add-on store
reads (store_rules.py): repository.yaml, build.yaml, icon.png and logo.png, and a repository
layout in which its scan finds this one add-on. Prints every problem and exits 1 if there is one.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

# No __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import config_rules  # noqa: E402
import simple_yaml  # noqa: E402
import store_rules  # noqa: E402


def read(root: Path, name: str, problems: list[str]) -> str | None:
    try:
        return (root / name).read_text(encoding="utf-8")
    except OSError as error:
        problems.append(f"{name}: cannot read it: {error.strerror}")
        return None


def cmake_version(root: Path, problems: list[str]) -> str | None:
    text = read(root, "CMakeLists.txt", problems)
    match = re.search(r"project\(\s*\w+[^)]*?\bVERSION\s+([0-9][0-9.]*)", text or "")
    if text is not None and not match:
        problems.append("CMakeLists.txt: no project(... VERSION x.y.z)")
    return match.group(1) if match else None


def check_label(entry: object, where: str, problems: list[str]) -> None:
    if not isinstance(entry, dict):
        problems.append(f"translations/en.yaml: {where} must have a name and a description")
        return
    for part in ("name", "description"):
        if not isinstance(entry.get(part), str) or not entry[part].strip():
            problems.append(f"translations/en.yaml: {where} has no {part}")


def check_translations(config: dict, text: str | None, problems: list[str]) -> None:
    if text is None:
        return
    try:
        translations = simple_yaml.parse(text)
    except simple_yaml.YamlSubsetError as error:
        problems.append(f"translations/en.yaml: {error}")
        return
    schema = config.get("schema") if isinstance(config.get("schema"), dict) else {}
    labels = translations.get("configuration") or {}
    for key in sorted(set(schema) - set(labels)):
        problems.append(f"translations/en.yaml: option '{key}' has no label")
    for key in sorted(set(labels) - set(schema)):
        problems.append(f"translations/en.yaml: '{key}' labels no option of the schema")
    for key in sorted(set(labels) & set(schema)):
        entry = labels[key]
        check_label(entry, f"option '{key}'", problems)
        element = schema[key]
        nested = element[0] if isinstance(element, list) and element else element
        fields = (entry or {}).get("fields") if isinstance(entry, dict) else None
        if isinstance(nested, dict):
            fields = fields if isinstance(fields, dict) else {}
            for field in sorted(set(nested) - set(fields)):
                problems.append(f"translations/en.yaml: field '{key}.{field}' has no label")
            for field in sorted(set(fields) - set(nested)):
                problems.append(f"translations/en.yaml: '{key}.{field}' labels no field")
            for field in sorted(set(fields) & set(nested)):
                check_label(fields[field], f"field '{key}.{field}'", problems)
        elif fields is not None:
            problems.append(f"translations/en.yaml: option '{key}' has no fields to label")
    network = translations.get("network") or {}
    ports = config.get("ports") or {}
    if set(network) != set(ports):
        problems.append("translations/en.yaml: 'network' must describe exactly the ports of "
                        f"config.json {sorted(ports)}")
    for key, description in network.items():
        if not isinstance(description, str) or not description.strip():
            problems.append(f"translations/en.yaml: network '{key}' has no description")


def check_dockerfile(config: dict, text: str | None, problems: list[str]) -> None:
    if text is None:
        return
    head = text.split("\nFROM ", 1)[0]
    match = re.search(r"^ARG BUILD_FROM=(\S+)", head, re.MULTILINE)
    if not match:
        problems.append("Dockerfile: needs 'ARG BUILD_FROM=<image>' with a default before the "
                        "first FROM (Supervisors without a build.yaml pass none)")
    elif "debian" not in match.group(1):
        problems.append(f"Dockerfile: BUILD_FROM default {match.group(1)} is not a Debian base")
    froms = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    if not froms or any(image not in ("${BUILD_FROM}", "$BUILD_FROM") for image in froms):
        problems.append("Dockerfile: every stage must start FROM ${BUILD_FROM}")
    if len(froms) < 2:
        problems.append("Dockerfile: needs a build stage and a final stage")
    if not re.search(r"^HEALTHCHECK\s", text, re.MULTILINE):
        problems.append("Dockerfile: has no HEALTHCHECK")
    version = re.search(r"^ARG BUILD_VERSION=(\S+)", text, re.MULTILINE)
    if not version or version.group(1) != config.get("version"):
        problems.append("Dockerfile: ARG BUILD_VERSION default must be config.json's version "
                        f"{config.get('version')}")


def check_docs(config: dict, docs: str | None, changelog: str | None, problems: list[str]) -> None:
    schema = config.get("schema") if isinstance(config.get("schema"), dict) else {}
    if docs is not None:
        for key in schema:
            if f"`{key}`" not in docs:
                problems.append(f"DOCS.md: option '{key}' is not explained (no `{key}` in it)")
    if changelog is not None:
        version = re.escape(str(config.get("version")))
        if not re.search(rf"^#+ .*\b{version}\b", changelog, re.MULTILINE):
            problems.append(f"CHANGELOG.md: no heading for version {config.get('version')}")


def check(root: Path) -> list[str]:
    problems: list[str] = []
    text = read(root, "config.json", problems)
    if text is None:
        return problems
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        return [f"config.json: not valid JSON: {error}"]
    if not isinstance(config, dict):
        return ["config.json: must be a JSON object"]
    config_rules.check_config(config, cmake_version(root, problems), problems)
    config_rules.check_options(config, problems)
    check_translations(config, read(root, "translations/en.yaml", problems), problems)
    dockerfile = read(root, "Dockerfile", problems)
    docs = read(root, "DOCS.md", problems)
    changelog = read(root, "CHANGELOG.md", problems)
    check_dockerfile(config, dockerfile, problems)
    check_docs(config, docs, changelog, problems)
    # What the Supervisor's store reads: repository.yaml, build.yaml, the pictures, the layout.
    store_rules.check_store(root, config, dockerfile, changelog, docs, problems)
    return problems


def main() -> int:
    default_root = Path(__file__).resolve().parents[2]
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else default_root
    problems = check(root)
    for problem in problems:
        print(f"packaging: {problem}")
    if problems:
        print(f"packaging: {len(problems)} problem(s) in {root}")
        return 1
    print(f"packaging: config.json, translations, Dockerfile, DOCS.md, CHANGELOG.md, "
          f"repository.yaml, build.yaml, icon.png, logo.png agree ({root})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
