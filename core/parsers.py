"""The JSON parser every endpoint uses: DRF's, refusing bodies nested deeper than any request
of the API (a `[[[[…]]]]` of 200 kB is a quick 400, not a RecursionError and a 500)."""

from collections.abc import Mapping
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# The API's deepest body is a few levels (a sale's lines and payments); this leaves room.
MAX_DEPTH = 32


def _deeper_than(document: Any, limit: int) -> bool:
    """Whether `document` nests lists and objects more than `limit` deep (walked without
    recursion, so no document can exhaust the stack here)."""
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        children = value.values() if isinstance(value, Mapping) else value
        if isinstance(value, Mapping | list):
            if depth > limit:
                return True
            pending.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            document = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError(f"JSON parse error - nested more than {MAX_DEPTH} deep.") from error
        if _deeper_than(document, MAX_DEPTH):
            raise ParseError(f"JSON parse error - nested more than {MAX_DEPTH} deep.")
        return document
