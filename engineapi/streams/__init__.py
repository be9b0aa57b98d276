"""sans-IO decoders for the Engine API's streamed bodies: bytes in, items out."""

from engineapi.streams.jsonlines import JSONLinesDecoder

__all__ = ["JSONLinesDecoder"]
