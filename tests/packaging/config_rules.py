"""The rules config.json must follow: those of the add-on configuration documentation
(developers.home-assistant.io, "Add-on configuration") and of the Supervisor's validation of config
files and option schemas, stricter where the add-on linter is (no key set to its default value,
ports described), plus what this add-on needs to be the hub's broker. check_addon.py runs them.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlparse

REQUIRED_KEYS = {"name": str, "version": str, "slug": str, "description": str, "arch": list}
# The architectures Home Assistant supports; the Supervisor calls armhf, armv7 and i386 deprecated.
ARCHES = {"aarch64", "amd64"}

# Optional keys, their type and the default the documentation gives (None: no default). A key
# outside this table and REQUIRED_KEYS is unknown to the Supervisor, most likely a typo.
NO_DEFAULT = None
OPTIONAL_KEYS: dict[str, tuple[type | tuple[type, ...], object]] = {
    "machine": (list, NO_DEFAULT),
    "url": (str, NO_DEFAULT),
    "startup": (str, "application"),
    "webui": (str, NO_DEFAULT),
    "boot": (str, "auto"),
    "ports": (dict, NO_DEFAULT),
    "ports_description": (dict, NO_DEFAULT),
    "host_network": (bool, False),
    "host_ipc": (bool, False),
    "host_dbus": (bool, False),
    "host_pid": (bool, False),
    "host_uts": (bool, False),
    "devices": (list, NO_DEFAULT),
    "homeassistant": (str, NO_DEFAULT),
    "hassio_role": (str, "default"),
    "hassio_api": (bool, False),
    "homeassistant_api": (bool, False),
    "docker_api": (bool, False),
    "privileged": (list, NO_DEFAULT),
    "full_access": (bool, False),
    "apparmor": ((bool, str), True),
    "map": (list, NO_DEFAULT),
    "environment": (dict, NO_DEFAULT),
    "audio": (bool, False),
    "video": (bool, False),
    "gpio": (bool, False),
    "usb": (bool, False),
    "uart": (bool, False),
    "udev": (bool, False),
    "devicetree": (bool, False),
    "kernel_modules": (bool, False),
    "stdin": (bool, False),
    "legacy": (bool, False),
    "options": (dict, NO_DEFAULT),
    "schema": ((dict, bool), NO_DEFAULT),
    "image": (str, NO_DEFAULT),
    "timeout": (int, 10),
    "tmpfs": (bool, False),
    "discovery": (list, NO_DEFAULT),
    "services": (list, NO_DEFAULT),
    "auth_api": (bool, False),
    "ingress": (bool, False),
    "ingress_port": (int, 8099),
    "ingress_entry": (str, "/"),
    "ingress_stream": (bool, False),
    "panel_icon": (str, "mdi:puzzle"),
    "panel_title": (str, NO_DEFAULT),
    "panel_admin": (bool, True),
    "backup": (str, "hot"),
    "backup_pre": (str, NO_DEFAULT),
    "backup_post": (str, NO_DEFAULT),
    "backup_exclude": (list, NO_DEFAULT),
    "stage": (str, "stable"),
    "init": (bool, True),
    "realtime": (bool, False),
    "journald": (bool, False),
    "breaking_versions": (list, NO_DEFAULT),
    "ulimits": (dict, NO_DEFAULT),
}
OBSOLETE_KEYS = {
    "watchdog": "the image's HEALTHCHECK replaces it",
    "auto_uart": "use 'uart'",
    "snapshot": "use 'backup'",
    "snapshot_exclude": "use 'backup_exclude'",
    "snapshot_pre": "use 'backup_pre'",
    "snapshot_post": "use 'backup_post'",
    "advanced": "the Supervisor ignores it (deprecated since 2026.03)",
    "codenotary": "the Supervisor no longer uses it",
}
ENUMS = {
    "startup": {"initialize", "system", "services", "application", "once"},
    "boot": {"auto", "manual", "manual_only"},
    "stage": {"stable", "experimental", "deprecated"},
    "backup": {"hot", "cold"},
    "hassio_role": {"default", "homeassistant", "backup", "manager", "admin"},
}
MAP_TYPES = {"homeassistant_config", "addon_config", "ssl", "addons", "backup", "share", "media",
             "all_addon_configs", "data"}
RE_SLUG = re.compile(r"^[-_.A-Za-z0-9]+$")
RE_PORT_KEY = re.compile(r"^(\d+)/(tcp|udp)$")
RE_SERVICE = re.compile(r"^(mqtt|mysql):(provide|want|need)$")
# The option types of the add-on documentation, each optionally followed by '?'.
RE_SCHEMA_TYPE = re.compile(
    r"^(?P<type>bool|email|url|port|device(?:\(subsystem=[a-z]+\))?"
    r"|(?P<text>str|password)(?:\((?P<s_min>\d+)?,(?P<s_max>\d+)?\))?"
    r"|int(?:\((?P<i_min>-?\d+)?,(?P<i_max>-?\d+)?\))?"
    r"|float(?:\((?P<f_min>-?\d*\.?\d+)?,(?P<f_max>-?\d*\.?\d+)?\))?"
    r"|match\((?P<match>.*)\)|list\((?P<choices>.+)\))(?P<optional>\?)?$"
)

# What this add-on must offer (issue 4, the storage issue, CONTRACT.md).
EXPECTED_PORTS = {"1883/tcp": 1883, "1884/tcp": 1884, "8883/tcp": 8883, "8884/tcp": 8884}
EXPECTED_OPTIONS = {"logins", "require_certificate", "certfile", "keyfile", "cafile", "customize",
                    "log_level", "acl", "durability", "max_queued_messages", "max_queued_mb",
                    "max_client_buffer_mb", "max_total_buffer_mb", "max_connections",
                    "connect_timeout"}


def check_config(config: dict, cmake_version: str | None, problems: list[str]) -> None:
    for key, kind in REQUIRED_KEYS.items():
        if key not in config:
            problems.append(f"config.json: required key '{key}' is missing")
        elif not isinstance(config[key], kind) or not config[key]:
            problems.append(f"config.json: '{key}' must be a non-empty {kind.__name__}")
    for key, value in config.items():
        if key in OBSOLETE_KEYS:
            problems.append(f"config.json: '{key}' is obsolete: {OBSOLETE_KEYS[key]}")
        elif key in OPTIONAL_KEYS:
            kind, default = OPTIONAL_KEYS[key]
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                problems.append(f"config.json: '{key}' has the wrong type")
            elif default is not NO_DEFAULT and value == default and type(value) is type(default):
                problems.append(f"config.json: '{key}' is set to its default {value!r}; remove it")
            elif key in ENUMS and value not in ENUMS[key]:
                problems.append(f"config.json: '{key}' must be one of {sorted(ENUMS[key])}")
        elif key not in REQUIRED_KEYS:
            problems.append(f"config.json: unknown key '{key}'")

    if not RE_SLUG.match(str(config.get("slug", ""))):
        problems.append("config.json: 'slug' must be URI friendly (letters, digits, - _ .)")
    if isinstance(config.get("arch"), list) and set(config["arch"]) != ARCHES:
        problems.append(f"config.json: 'arch' must list exactly {sorted(ARCHES)}")
    url = urlparse(str(config.get("url", "")))
    if url.scheme != "https" or not url.netloc:
        problems.append("config.json: 'url' must be an https address")
    if cmake_version is not None and config.get("version") != cmake_version:
        problems.append(f"config.json: version {config.get('version')!r} differs from the CMake "
                        f"project VERSION {cmake_version}")

    # What makes it the hub's broker: started before Home Assistant, s6 as init, discovered.
    expected = {"startup": "system", "init": False, "discovery": ["mqtt"], "auth_api": True}
    for key, value in expected.items():
        if config.get(key) != value:
            problems.append(f"config.json: '{key}' must be {json.dumps(value)}")
    services = config.get("services", [])
    if "mqtt:provide" not in services:
        problems.append("config.json: 'services' must hold \"mqtt:provide\"")
    for service in services:
        if not RE_SERVICE.match(str(service)):
            problems.append(f"config.json: service {service!r} is not <mqtt|mysql>:<function>")

    check_ports(config, problems)
    check_map(config.get("map", []), problems)


def check_ports(config: dict, problems: list[str]) -> None:
    ports = config.get("ports", {})
    descriptions = config.get("ports_description", {})
    for key, host_port in ports.items():
        if not RE_PORT_KEY.match(key):
            problems.append(f"config.json: port '{key}' is not <port>/<tcp|udp>")
        if host_port is not None and (not isinstance(host_port, int) or isinstance(host_port, bool)
                                      or not 1 <= host_port <= 65535):
            problems.append(f"config.json: port '{key}' maps to {host_port!r}, not 1-65535 or null")
    if set(ports) != set(descriptions):
        problems.append("config.json: 'ports' and 'ports_description' name different ports")
    for key, text in descriptions.items():
        if not isinstance(text, str) or not text:
            problems.append(f"config.json: ports_description of '{key}' must be a text")
    if ports != EXPECTED_PORTS:
        problems.append(f"config.json: 'ports' must be {json.dumps(EXPECTED_PORTS)}")


def check_map(entries: list, problems: list[str]) -> None:
    types = []
    for entry in entries:
        if isinstance(entry, str):
            # The older "type[:rw|:ro]" form, still read by the Supervisor.
            match = re.match(r"^([a-z_]+)(?::(rw|ro))?$", entry)
            kind = match.group(1) if match else entry
            if kind == "config":
                problems.append("config.json: map 'config' is replaced by 'homeassistant_config'")
        elif isinstance(entry, dict):
            kind = entry.get("type")
            if set(entry) - {"type", "read_only", "path"}:
                problems.append(f"config.json: map entry {entry} has unknown keys")
            if "read_only" in entry and not isinstance(entry["read_only"], bool):
                problems.append(f"config.json: map entry {entry}: read_only must be true or false")
            elif entry.get("read_only") is True:
                problems.append(f"config.json: map entry {entry}: read_only true is the default")
        else:
            problems.append(f"config.json: map entry {entry!r} must be an object or a string")
            continue
        if kind not in MAP_TYPES and kind != "config":
            problems.append(f"config.json: map type {kind!r} is unknown")
        types.append(kind)
    for needed in ("ssl", "share"):
        if needed not in types:
            problems.append(f"config.json: 'map' must hold {needed} (certificates, customize)")


def check_value(element: str, value: object, where: str, problems: list[str]) -> None:
    """A default of `options` against its schema type."""
    match = RE_SCHEMA_TYPE.match(element)
    if not match:
        return  # reported by check_schema_element
    kind = match.group("type")
    if kind == "bool":
        ok = isinstance(value, bool)
    elif match.group("text") or kind in ("email", "url") or kind.startswith(("match", "device")):
        ok = isinstance(value, str)
        if ok and match.group("match") is not None:
            ok = re.fullmatch(match.group("match"), value) is not None
    elif kind.startswith(("int", "port")):
        ok = isinstance(value, int) and not isinstance(value, bool)
        low, high = match.group("i_min"), match.group("i_max")
        ok = ok and (low is None or value >= int(low)) and (high is None or value <= int(high))
    elif kind.startswith("float"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = value in match.group("choices").split("|")
    if not ok:
        problems.append(f"config.json: option default {where} = {value!r} does not fit '{element}'")


def check_schema_element(element: object, where: str, problems: list[str]) -> None:
    if not isinstance(element, str) or not RE_SCHEMA_TYPE.match(element):
        problems.append(f"config.json: schema {where}: {element!r} is not a valid option type")


def check_options(config: dict, problems: list[str]) -> None:
    options, schema = config.get("options", {}), config.get("schema", {})
    if not isinstance(options, dict) or not isinstance(schema, dict):
        problems.append("config.json: 'options' and 'schema' must both be objects")
        return
    for key in sorted(EXPECTED_OPTIONS - set(schema)):
        problems.append(f"config.json: option '{key}' is missing from the schema")
    for key in sorted(set(options) - set(schema)):
        problems.append(f"config.json: option '{key}' has a default but no schema entry")
    for key, element in schema.items():
        optional = isinstance(element, str) and element.endswith("?")
        if key not in options and not optional:
            problems.append(f"config.json: schema '{key}' is required but has no default in "
                            "'options' (end its type with '?' or give it a default)")
        if key in options and optional:
            problems.append(f"config.json: schema '{key}' is optional ('?') but 'options' gives "
                            "it a default, which makes it required")
        if isinstance(element, list):
            if len(element) != 1:
                problems.append(f"config.json: schema '{key}' must be a list of one item type")
                continue
            item = element[0]
            nested = item if isinstance(item, dict) else {"": item}
            for field, field_element in nested.items():
                check_schema_element(field_element, f"{key}[].{field}".rstrip("."), problems)
            default = options.get(key, [])
            if not isinstance(default, list):
                problems.append(f"config.json: option default '{key}' must be a list")
            elif not isinstance(item, dict):
                for value in default:
                    check_value(item, value, f"{key}[]", problems)
        elif isinstance(element, dict):
            for field, field_element in element.items():
                check_schema_element(field_element, f"{key}.{field}", problems)
            default = options.get(key, {})
            if not isinstance(default, dict) or set(default) - set(element):
                problems.append(f"config.json: option default '{key}' must be an object of "
                                f"{sorted(element)}")
                continue
            for field, value in default.items():
                check_value(element[field], value, f"{key}.{field}", problems)
        else:
            check_schema_element(element, key, problems)
            if key in options:
                check_value(element, options[key], key, problems)
