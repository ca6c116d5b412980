"""A reader for the small YAML subset that translations/en.yaml is written in.

CI has no YAML library (Debian's python3-yaml is not a project dependency), and the file needs
little: nested mappings, one-line scalars and ">-" folded texts. Anything outside that subset is an
error naming the line, never a silent misreading: a plain scalar that real YAML would read as a
number, a boolean or something else entirely must be quoted.
"""

from __future__ import annotations

import json
import re

# Plain scalars starting with these mean something else in YAML (flow collections, anchors, tags,
# block scalars, quotes, comments, directives, list items).
_INDICATORS = tuple("-?:,[]{}#&*!|>'\"%@`")
# Plain scalars that YAML 1.1 or 1.2 reads as something other than a string.
_NON_STRING = re.compile(
    r"^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off"
    r"|OFF|[-+]?(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][-+]?\d+)?|0x[0-9a-fA-F]+|0o[0-7]+|[-+]?\.inf"
    r"|\.nan)$"
)


class YamlSubsetError(ValueError):
    def __init__(self, line_number: int, message: str) -> None:
        super().__init__(f"line {line_number}: {message}")


def _scalar(text: str, line_number: int) -> str:
    if text.startswith('"'):
        if len(text) < 2 or not text.endswith('"'):
            raise YamlSubsetError(line_number, "unterminated double-quoted string")
        try:
            # YAML's double-quoted escapes that a label needs (\" \\ \n \t \uXXXX) are JSON's.
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise YamlSubsetError(line_number, f"double-quoted string: {error.msg}") from None
        return value
    if text.startswith("'"):
        inner = text[1:-1]
        if len(text) < 2 or not text.endswith("'") or re.search(r"(?<!')'(?!')", inner):
            raise YamlSubsetError(line_number, "malformed single-quoted string")
        return inner.replace("''", "'")
    if text.startswith(_INDICATORS):
        raise YamlSubsetError(line_number, f"quote a value starting with '{text[0]}'")
    if ": " in text or " #" in text or text.endswith(":"):
        raise YamlSubsetError(line_number, "quote a value containing ': ' or ' #'")
    if _NON_STRING.match(text):
        raise YamlSubsetError(line_number, f"quote '{text}', YAML would not read it as text")
    return text


def _key(text: str, line_number: int) -> str:
    if text.startswith(('"', "'")):
        return _scalar(text, line_number)
    if not text or text.startswith(_INDICATORS) or " #" in text:
        raise YamlSubsetError(line_number, f"unsupported key '{text}'")
    return text


def _split_key(content: str, line_number: int) -> tuple[str, str]:
    """Splits `key: value` (or `key:`) at the colon that ends the key."""
    if content.startswith(('"', "'")):
        quote = content[0]
        end = content.find(quote, 1)
        while quote == "'" and end != -1 and content[end + 1 : end + 2] == "'":
            end = content.find(quote, end + 2)
        if end == -1 or content[end + 1 : end + 2] != ":":
            raise YamlSubsetError(line_number, "expected a quoted key followed by ':'")
        return content[: end + 1], content[end + 2 :].strip()
    match = re.match(r"^([^:]*?):(?: +(.*))?$", content)
    if not match:
        raise YamlSubsetError(line_number, "expected 'key: value' or 'key:'")
    return match.group(1), (match.group(2) or "").strip()


def parse(text: str) -> dict:
    lines = text.split("\n")
    root: dict = {}
    # (indent of the keys in this mapping, the mapping)
    stack: list[tuple[int, dict]] = [(0, root)]
    pending: tuple[int, dict, str] | None = None  # a `key:` waiting for its nested mapping
    index = 0
    while index < len(lines):
        raw = lines[index]
        line_number = index + 1
        index += 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#") or (line_number == 1 and stripped == "---"):
            continue
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise YamlSubsetError(line_number, "tab in indentation")
        indent = len(raw) - len(raw.lstrip(" "))
        content = raw.strip()
        if content.startswith("- "):
            raise YamlSubsetError(line_number, "lists are not supported")

        if pending is not None:
            parent_indent, parent, key = pending
            if indent <= parent_indent:
                raise YamlSubsetError(line_number, f"'{key}' has no value")
            parent[key] = {}
            stack.append((indent, parent[key]))
            pending = None
        while stack and indent < stack[-1][0]:
            stack.pop()
        if not stack or indent != stack[-1][0]:
            raise YamlSubsetError(line_number, "indentation does not match any enclosing key")
        mapping = stack[-1][1]

        key_text, value_text = _split_key(content, line_number)
        key = _key(key_text, line_number)
        if key in mapping:
            raise YamlSubsetError(line_number, f"duplicate key '{key}'")
        if value_text == "":
            pending = (indent, mapping, key)
            mapping[key] = None
        elif value_text == ">-":
            # Folded: the more-indented lines that follow, joined by single spaces.
            parts = []
            while index < len(lines):
                following = lines[index]
                if not following.strip():
                    raise YamlSubsetError(index + 1, "blank line inside a folded text")
                if len(following) - len(following.lstrip(" ")) <= indent:
                    break
                parts.append(following.strip())
                index += 1
            if not parts:
                raise YamlSubsetError(line_number, "empty folded text")
            mapping[key] = " ".join(parts)
        elif value_text.startswith(("|", ">")):
            raise YamlSubsetError(line_number, "only '>-' block scalars are supported")
        else:
            mapping[key] = _scalar(value_text, line_number)
    if pending is not None:
        raise YamlSubsetError(len(lines), f"'{pending[2]}' has no value")
    return root
