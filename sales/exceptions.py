"""Domain errors of registers, shifts, sales and refunds."""

from rest_framework import status

from core.exceptions import Conflict, DomainError


class ShiftAlreadyOpen(Conflict):
    default_detail = "This register already has an open shift."
    default_code = "shift_already_open"


class ShiftNotOpen(Conflict):
    default_detail = "This register has no open shift."
    default_code = "shift_not_open"


class RefundExceedsSale(Conflict):
    """`lines` lists each line asked beyond what is left: `line`, `requested`, `refundable`."""

    default_detail = "A line cannot be refunded beyond what was sold and not yet refunded."
    default_code = "refund_exceeds_sale"


class PriceOverrideNotAllowed(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "Only an owner or a manager may change a line's unit price."
    default_code = "permission_denied"


class DiscountNotAllowed(DomainError):
    """A cashier's line discount above the store's `cashier_max_discount_percent`."""

    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "A cashier may not give this much discount."
    default_code = "permission_denied"


class CashDifferenceTooLarge(DomainError):
    """A cashier's count beyond the store's `max_cash_difference` (no figure is named)."""

    status_code = status.HTTP_403_FORBIDDEN
    default_detail = (
        "The counted cash is further from the expected cash than this store allows a cashier to "
        "close with: count again, or ask an owner or a manager to close the shift."
    )
    default_code = "permission_denied"


class IdempotencyKeyReused(DomainError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was used with a different request."
    default_code = "idempotency_key_reused"


class InvalidIdempotencyKey(DomainError):
    default_detail = "An Idempotency-Key is 1 to 255 printable ASCII characters."
    default_code = "invalid_idempotency_key"
