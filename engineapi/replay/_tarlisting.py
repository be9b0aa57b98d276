"""A tar archive as what it says rather than how the machine that made it spelled it.

Build contexts and archives put into containers are tars of the user's files: their mtimes are
when the checkout was made, their owners whoever made it, their group and other write bits
the umask of that shell. A cassette recorded on one machine must replay on another, and a
drift check must not see a new checkout as a new answer, so both compare tars by this listing:
each member's name, type, permission bits (group and other write aside), size, link target, and
content (text up to 4 KiB, otherwise a SHA-256 digest) — no mtime, uid, gid or owner names.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from typing import Any

__all__ = ["tar_listing"]

#: The permission bits a umask decides (group and other write): not compared.
UMASK_BITS = 0o022
#: Member contents up to this size are listed as text (when they are UTF-8), larger by digest.
TEXT_LIMIT = 4096


def tar_listing(data: bytes) -> list[dict[str, Any]] | None:
    """The members of the uncompressed tar archive `data`, or None if it is not one."""
    if len(data) < 512 or len(data) % 512:
        return None
    if data[:512] == bytes(512):
        return [] if not data.strip(b"\0") else None
    if data[257:262] != b"ustar" and not _v7_header(data):
        return None
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            return [_member(tar, member) for member in tar.getmembers()]
    except (tarfile.TarError, EOFError, ValueError):
        return None


def _v7_header(data: bytes) -> bool:
    """An old-style header without the ``ustar`` magic: its checksum must still add up."""
    try:
        stored = int(data[148:156].rstrip(b"\0 ").decode("ascii") or "-1", 8)
    except ValueError:
        return False
    header = data[:148] + b" " * 8 + data[156:512]
    return stored == sum(header)


def _member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> dict[str, Any]:
    item: dict[str, Any] = {
        "name": member.name,
        "type": member.type.decode("ascii", "replace"),
        "mode": oct(member.mode & ~UMASK_BITS),
        "size": member.size,
    }
    if member.isfile() and member.size:
        file = tar.extractfile(member)
        content = file.read() if file is not None else b""
        text = None
        if len(content) <= TEXT_LIMIT:
            try:
                text = content.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        if text is not None:
            item["content"] = text
        else:
            item["sha256"] = hashlib.sha256(content).hexdigest()
    if member.issym() or member.islnk():
        item["link"] = member.linkname
    return item
