"""Tables of a store's sales, in the store's own schema: registers, shifts, sales, refunds."""

from decimal import Decimal
from typing import ClassVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.timezone import now

from catalog.models import Product
from core.money import ZERO, MoneyColumn
from customers.models import Customer
from stores.models import user_reference


def _quantity(**options: object) -> models.DecimalField:
    return models.DecimalField(max_digits=12, decimal_places=3, **options)


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CARD = "card", "Card"
    OTHER = "other", "Other"


class Register(models.Model):
    """A till: shifts are opened on it and sales rung up through it."""

    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["id"]

    def __str__(self) -> str:
        return self.name


class Shift(models.Model):
    """A cashier's session on a register, from opening cash to the counted cash of its Z report."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="shifts")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    opened_by = user_reference()
    opened_at = models.DateTimeField(default=now)
    opening_cash = MoneyColumn()
    closed_by = user_reference(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    counted_cash = MoneyColumn(null=True, blank=True)
    # The Z report, fixed when the shift closes.
    cash_sales = MoneyColumn(null=True, blank=True)
    cash_refunds = MoneyColumn(null=True, blank=True)
    expected_cash = MoneyColumn(null=True, blank=True)
    difference = MoneyColumn(null=True, blank=True)
    sales_count = models.PositiveIntegerField(null=True, blank=True)
    totals_by_method = models.JSONField(null=True, blank=True)
    # Offline sales that came in while this shift was open but were made before it (or in a
    # shift that had closed): counted in this drawer, shown apart, never in a closed report.
    # A plain integer: an added column's CHECK (PositiveIntegerField's) has no name, which
    # Citus refuses.
    late_sales_count = models.IntegerField(null=True, blank=True)
    late_sales_total = MoneyColumn(null=True, blank=True)
    # Cash put into and taken out of the drawer other than by sales and refunds.
    pay_ins = MoneyColumn(null=True, blank=True)
    pay_outs = MoneyColumn(null=True, blank=True)
    cash_rounding = MoneyColumn(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["register"],
                condition=Q(status="open"),
                name="sales_shift_one_open_per_register",
            ),
            models.CheckConstraint(
                condition=Q(opening_cash__gte=0), name="sales_shift_opening_cash_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"Shift {self.pk} on {self.register_id} ({self.status})"


# A report's figures: the Z report's, fixed on the shift when it closes.
SHIFT_REPORT_FIELDS = (
    "sales_count",
    "cash_sales",
    "cash_refunds",
    "pay_ins",
    "pay_outs",
    "cash_rounding",
    "expected_cash",
    "counted_cash",
    "difference",
    "totals_by_method",
    "late_sales_count",
    "late_sales_total",
)


class CashMovement(models.Model):
    """Cash into or out of a shift's drawer that is no sale or refund: a float topped up, a
    supplier paid from the till. In the shift's expected cash."""

    class Kind(models.TextChoices):
        PAY_IN = "pay_in", "Pay in"
        PAY_OUT = "pay_out", "Pay out"

    shift = models.ForeignKey(Shift, on_delete=models.PROTECT, related_name="cash_movements")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    amount = MoneyColumn()
    reason = models.CharField(max_length=200)
    created_by = user_reference()
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["id"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="sales_cash_movement_amount_gt_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} on shift {self.shift_id}"


class Counter(models.Model):
    """Gap-free numbers: incremented inside the transaction that uses the number."""

    name = models.CharField(max_length=32, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class Sale(models.Model):
    """A completed checkout. Totals are sums of the lines' figures."""

    class Status(models.TextChoices):
        COMPLETED = "completed", "Completed"

    class Source(models.TextChoices):
        ONLINE = "online", "Online"
        OFFLINE = "offline", "Offline"

    # Set by the checkout's last statement, in its transaction: never seen empty outside it.
    number = models.BigIntegerField(unique=True, null=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COMPLETED)
    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="sales")
    shift = models.ForeignKey(Shift, on_delete=models.PROTECT, related_name="sales")
    cashier = user_reference()
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="sales"
    )
    subtotal = MoneyColumn()
    discount_total = MoneyColumn()
    tax_total = MoneyColumn()
    total = MoneyColumn()
    paid_total = MoneyColumn()
    change_due = MoneyColumn()
    # The signed adjustment of the cash due to the store's cash step (the drawer's, not the
    # sale's: `total`, tax and analytics stay exact).
    cash_rounding = MoneyColumn(default=ZERO)
    refunded_total = MoneyColumn(default=ZERO)
    # The store's setting when the sale was made: refunds prorate from the sale as it was.
    prices_include_tax = models.BooleanField()
    note = models.CharField(max_length=500, blank=True, default="")
    # When the sale was made: the server's clock online, the till's (`occurred_at`) offline.
    created_at = models.DateTimeField(default=now, db_index=True)
    # The till's own id of the sale: a sale is applied once per id, whatever is resent.
    # Unique by a named constraint (Meta): Citus refuses an unnamed one added to a column.
    client_id = models.UUIDField(null=True, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.ONLINE)
    # What the till printed on the receipt while offline.
    offline_number = models.CharField(max_length=64, blank=True, default="")
    # When an offline sale reached the server.
    received_at = models.DateTimeField(null=True, blank=True)
    # An offline sale that landed in a later shift than the one it was made in (or in none).
    late = models.BooleanField(default=False)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(total__gte=0), name="sales_sale_total_gte_0"),
            models.UniqueConstraint(fields=["client_id"], name="sales_sale_client_id_unique"),
            models.CheckConstraint(
                condition=Q(refunded_total__gte=0, refunded_total__lte=models.F("total")),
                name="sales_sale_refunded_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"Sale {self.number}"


class SaleLine(models.Model):
    """One product on a sale, priced and taxed as it was sold."""

    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="sale_lines")
    name = models.CharField(max_length=200)
    sku = models.CharField(max_length=64, blank=True, default="")
    quantity = _quantity()
    unit_price = MoneyColumn()
    discount = MoneyColumn(default=ZERO)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2)
    tax_amount = MoneyColumn()
    # quantity × unit_price − discount: tax included or not, per the store's setting.
    total = MoneyColumn()
    refunded_quantity = _quantity(default=Decimal("0.000"))
    refunded_amount = MoneyColumn(default=ZERO)
    refunded_tax = MoneyColumn(default=ZERO)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="sales_line_quantity_gt_0"),
            models.CheckConstraint(
                condition=Q(refunded_quantity__gte=0, refunded_quantity__lte=models.F("quantity")),
                name="sales_line_refunded_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"


class SalePayment(models.Model):
    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="payments")
    method = models.CharField(max_length=8, choices=PaymentMethod.choices)
    amount = MoneyColumn()

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="sales_payment_amount_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.amount}"


class SaleConflict(models.Model):
    """Stock an offline sale took that was no longer there when it reached the server: the
    goods had left the shop, so the sale stands and the shortfall is recorded."""

    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="conflicts")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    requested = _quantity()
    available = _quantity()
    created_at = models.DateTimeField(default=now, db_index=True)

    class Meta:
        ordering: ClassVar = ["id"]

    def __str__(self) -> str:
        return f"Sale {self.sale_id}: {self.requested} of {self.product_id}, {self.available} left"


class Refund(models.Model):
    """Money (and optionally goods) given back for some of a sale's lines."""

    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="refunds")
    # The open shift of the sale's register when the refund was made: its drawer paid it out.
    shift = models.ForeignKey(
        Shift, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    method = models.CharField(max_length=8, choices=PaymentMethod.choices)
    restock = models.BooleanField(default=False)
    reason = models.CharField(max_length=500, blank=True, default="")
    total = MoneyColumn()
    # A cash refund at a store with a cash step pays `total` rounded to it: the signed
    # adjustment, as a sale's (`total`, tax and analytics stay exact).
    cash_rounding = MoneyColumn(default=ZERO)
    created_by = user_reference()
    created_at = models.DateTimeField(default=now, db_index=True)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(total__gte=0), name="sales_refund_total_gte_0"),
        ]

    def __str__(self) -> str:
        return f"Refund {self.pk} of sale {self.sale_id}"


class RefundLine(models.Model):
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(SaleLine, on_delete=models.PROTECT, related_name="refund_lines")
    quantity = _quantity()
    # The line's paid amount (discount and tax included), prorated to this quantity.
    total = MoneyColumn()
    tax_amount = MoneyColumn()

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="sales_refund_line_quantity_gt_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.line_id}"


class IdempotencyKey(models.Model):
    """A request made with an `Idempotency-Key`: its body's hash, then its stored response."""

    key = models.CharField(max_length=255)
    scope = models.CharField(max_length=64)
    request_hash = models.CharField(max_length=64)
    # Written with the claim and completed in the same transaction: no one sees it half-done.
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=now, db_index=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["key", "scope"], name="sales_idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"
