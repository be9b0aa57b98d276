"""Naming rules: wire names → Python attribute, class, module and constant names."""

from __future__ import annotations

import keyword
import re

# Tokens the generic splitter would cut in the wrong place ("IPv6" → "i_pv6").
_SPECIAL_TOKENS = {
    "IPv4": "ipv4",
    "IPv6": "ipv6",
    "IOps": "iops",
    "SELinux": "selinux",
    "AppArmor": "apparmor",
}
_WORD = re.compile(
    "|".join(re.escape(token) for token in _SPECIAL_TOKENS)
    + r"|[A-Z]{2,}s(?![a-z])"  # a plural acronym: "IDs" in "DeviceIDs", "CIDRs"
    + r"|[A-Z]+(?=[A-Z][a-z])"  # an acronym followed by a word: "CPU" in "CPUShares"
    + r"|[A-Z]?[a-z]+"  # a word: "Shares", "size"
    + r"|[A-Z]+"  # a trailing acronym: "ID" in "NetworkID"
    + r"|\d+"
)

#: Attribute names every model uses for itself; a wire key may not take them.
RESERVED_ATTRIBUTES = frozenset({"extra", "from_wire", "to_wire"})


def words(name: str) -> list[str]:
    """Split a wire or spec name into lower-case words, keeping acronyms whole."""
    found = []
    for match in _WORD.finditer(name):
        token = match[0]
        found.append(_SPECIAL_TOKENS.get(token, token.lower()))
    return found


def snake_case(name: str) -> str:
    """``IPAddress`` → ``ip_address``, ``NetworkID`` → ``network_id``, ``os.version`` → ``os_version``."""
    return "_".join(words(name))


def attribute_name(wire: str) -> str:
    """The Python attribute for a wire key: snake_case, never a keyword or a reserved name."""
    name = snake_case(wire) or "field"
    if name[0].isdigit():
        name = f"n{name}"
    if keyword.iskeyword(name) or name in RESERVED_ATTRIBUTES:
        name += "_"
    return name


def pascal_case(name: str) -> str:
    """``cpu_stats`` → ``CpuStats``; ``NetworkSettings`` stays; ``os.features`` → ``OsFeatures``."""
    parts = re.split(r"[^0-9A-Za-z]+", name)
    return "".join(part[:1].upper() + part[1:] for part in parts if part)


def constant_name(value: object) -> str:
    """An enum constant for a value: ``"json-file"`` → ``JSON_FILE``, ``""`` → ``EMPTY``."""
    text = str(value)
    if not text:
        return "EMPTY"
    if text.lower() == text:  # "bundle-v0.3" → "BUNDLE_V0_3": separators are the word breaks
        name = re.sub(r"[^0-9a-z]+", "_", text).strip("_").upper()
    else:  # "TimestampAuthority" → "TIMESTAMP_AUTHORITY"
        name = "_".join(words(text)).upper()
    if not name or name[0].isdigit():
        name = f"V{name}" if name else "VALUE"
    return name


def module_name(class_name: str) -> str:
    """The generated module holding a class: ``ContainerSummary`` → ``container_summary``."""
    return snake_case(class_name)
