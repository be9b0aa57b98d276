"""Call builders, one module per API tag: pure functions from arguments to `Call` objects.

Nothing here does I/O. The clients execute the calls; their namespaces are generated from
these modules (`engineapi._codegen.namespaces`), so a builder's signature and docstring are
the public method's.
"""

from engineapi.api._body import Raw
from engineapi.api._call import Call, RawCall, Reply, StreamCall, with_extra_query

__all__ = ["Call", "Raw", "RawCall", "Reply", "StreamCall", "with_extra_query"]
