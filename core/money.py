"""Money and quantities: Decimal only, rounded half-up in one place."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def quantize_money(value: Decimal) -> Decimal:
    """Round to cents, half-up (0.005 -> 0.01), as receipts and tax rules expect."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
