"""Serializer fields shared by the apps."""

import re
from decimal import Decimal
from typing import Any

from rest_framework import serializers

PLAIN_DECIMAL = re.compile(r"\A\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*\Z")


class PlainDecimalField(serializers.DecimalField):
    """A DecimalField that takes only plain notation: "12.50", "-2", 3, 2.5; never "1e5", "NaN".

    Money and quantities typed at a till are never meant in exponent notation, and DRF's own
    field would read "1e5" as 100000.
    """

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool) or (
            not isinstance(data, int | float) and not PLAIN_DECIMAL.match(str(data))
        ):
            self.fail("invalid")
        return super().to_internal_value(data)
