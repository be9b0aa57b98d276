"""Turning failures into messages that say what happened and what to do."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from engineapi.errors import ConnectError

if TYPE_CHECKING:
    from engineapi.config import Endpoint

__all__ = ["ERROR_BODY_LIMIT", "error_message", "explain_connect_error"]

#: How much of an error body is kept for its message: a daemon (or a proxy in front of it)
#: may answer an error with any amount of bytes, and the exception must stay small.
ERROR_BODY_LIMIT = 64 * 1024


def error_message(body: bytes, status: int, *, cut: bool = False) -> str:
    """The daemon's message from an error body (``{"message": …}``, or plain text); `cut`
    says the body was longer than `ERROR_BODY_LIMIT` and only its start is here."""
    if not body:
        return f"HTTP {status} with an empty body"
    if cut:
        text = body[:ERROR_BODY_LIMIT].decode("utf-8", "replace").strip()
        return f"{text} … (the error body was cut after {ERROR_BODY_LIMIT // 1024} KiB)"
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return body.decode("utf-8", "replace").strip()
    if isinstance(data, dict):
        message = data.get("message") or data.get("cause") or data.get("error")
        if isinstance(message, str):
            return message
    return body.decode("utf-8", "replace").strip()


def explain_connect_error(exc: ConnectError, endpoint: Endpoint) -> ConnectError:
    """`exc` again, saying which host was tried, how it was chosen and what to check."""
    host = endpoint.host.url
    hints = [f"The host {host} was chosen by {endpoint.source}."]
    text = str(exc)
    if "Permission denied" in text and host.startswith("unix://"):
        hints.append(
            "This user may not open the socket: run as root or join the socket's group "
            "(usually 'docker')."
        )
    elif "No such file" in text or "Connection refused" in text:
        hints.append("Is the engine running there?")
    if endpoint.context_name != "default":
        hints.append(
            f"Check the context's endpoint with 'docker context inspect {endpoint.context_name}'"
            ", or pick another with DOCKER_CONTEXT or 'docker context use'."
        )
    elif "DOCKER_HOST" in endpoint.source:
        hints.append("Check DOCKER_HOST, or unset it to use the current docker context.")
    elif "argument" not in endpoint.source:
        hints.append("Set DOCKER_HOST or a docker context to use another engine.")
    stop = "" if text.endswith((".", "?", "!")) else "."
    return ConnectError(f"{text}{stop} {' '.join(hints)}", host=host, source=endpoint.source)
