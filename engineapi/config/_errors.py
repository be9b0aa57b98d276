"""Errors and warnings raised while resolving where and how to reach the daemon."""

from __future__ import annotations

from engineapi.errors import ConfigError

__all__ = ["ConfigError", "ConfigWarning"]


class ConfigWarning(UserWarning):
    """Something in the docker configuration was ignored, as the docker CLI ignores it.

    For example a ``config.json`` that is not valid JSON: the CLI prints a warning and
    carries on as if the file were empty, and so does engineapi.
    """
