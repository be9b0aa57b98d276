"""The one home of API version facts: the range engineapi speaks, and how versions compare.

``MIN_API_VERSION`` is Docker 20.10's API, the oldest engineapi supports; ``MAX_API_VERSION`` is
the newest spec vendored in ``engineapi/_codegen/engine-api/`` (a test checks both against the
specs). Everything that compares versions uses `version_key`.
"""

from __future__ import annotations

__all__ = ["MAX_API_VERSION", "MIN_API_VERSION", "version_key"]

#: The oldest API version engineapi speaks (Docker 20.10).
MIN_API_VERSION = "1.41"
#: The newest API version engineapi knows (its models and operations come from this spec).
MAX_API_VERSION = "1.55"


def version_key(version: str | None) -> tuple[int, int]:
    """``"1.41"`` → ``(1, 41)``, so that versions compare numerically (``"1.9" < "1.41"``);
    ``None`` (no version: the newest the daemon has) sorts above every version."""
    if version is None:
        return (1 << 30, 0)
    major, _, minor = version.partition(".")
    return (int(major), int(minor or 0))
