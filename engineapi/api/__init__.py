"""Call builders, one module per API tag: pure functions from arguments to `Call` objects.

Nothing here does I/O. The clients execute the calls; their namespaces are generated from
these modules (`engineapi._codegen.namespaces`), so a builder's signature and docstring are
the public method's.
"""

from typing import TYPE_CHECKING, Any

from engineapi.api._call import Call, RawCall, Reply, StreamCall, with_extra_query

if TYPE_CHECKING:
    from engineapi.api._body import Raw

__all__ = ["Call", "Raw", "RawCall", "Reply", "StreamCall", "with_extra_query"]


def __getattr__(name: str) -> Any:
    # The body checker is imported when first needed, not with every client.
    if name == "Raw":
        from engineapi.api._body import Raw

        return Raw
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
