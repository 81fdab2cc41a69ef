"""Input and output shapes of the sales API."""

from decimal import Decimal

from rest_framework import serializers

from core.fields import IdField, MoneyField, PlainDecimalField
from core.serializers import LeanSerializer, ModelSerializer
from sales import receipts
from sales.models import (
    CashMovement,
    PaymentMethod,
    Refund,
    RefundLine,
    Register,
    Sale,
    SaleConflict,
    Shift,
)

QUANTITY = {"max_digits": 12, "decimal_places": 3}
# What became of a synced sale (sales.services.sync).
SYNC_STATUSES = ("applied", "duplicate", "applied_with_conflict", "rejected")


class RegisterSerializer(ModelSerializer):
    """A register (till): shifts are opened on it and sales rung up through it."""

    class Meta:
        model = Register
        fields = ("id", "name", "is_active")


# --- Shifts ---------------------------------------------------------------------------------


class ShiftOpenSerializer(serializers.Serializer):
    """A shift to open: the register, and the cash in its drawer."""

    register = IdField()
    opening_cash = MoneyField(min_value=Decimal("0"))


class ShiftCloseSerializer(serializers.Serializer):
    """Closing a shift: the cash counted in the drawer."""

    counted_cash = MoneyField(min_value=Decimal("0"))


class MethodAmountSerializer(serializers.Serializer):
    """What one payment method took in the shift (cash net of change)."""

    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    amount = MoneyField()


class ShiftSerializer(ModelSerializer):
    """A shift; the Z report's figures are set when it closes (null while it is open)."""

    totals_by_method = MethodAmountSerializer(many=True, read_only=True, allow_null=True)

    class Meta:
        model = Shift
        fields = (
            "id",
            "register",
            "status",
            "opened_by",
            "opened_at",
            "closed_by",
            "closed_at",
            "opening_cash",
            "cash_sales",
            "cash_refunds",
            "expected_cash",
            "counted_cash",
            "difference",
            "sales_count",
            "totals_by_method",
            "late_sales_count",
            "late_sales_total",
            "pay_ins",
            "pay_outs",
            "cash_rounding",
        )
        read_only_fields = fields


class CashMovementInputSerializer(LeanSerializer):
    """Cash into (`pay_in`) or out of (`pay_out`) the drawer, and why."""

    kind = serializers.ChoiceField(choices=CashMovement.Kind.choices)
    amount = MoneyField(min_value=Decimal("0.01"))
    reason = serializers.CharField(max_length=200)


class CashMovementSerializer(ModelSerializer):
    """A pay-in or pay-out of a shift's drawer."""

    class Meta:
        model = CashMovement
        fields = ("id", "kind", "amount", "reason", "created_by", "created_at")
        read_only_fields = fields


class ShiftReportSerializer(LeanSerializer):
    """A shift's figures now: an X report while it is open (nothing is changed), its Z report
    once closed. `expected_cash` is `opening_cash + cash_sales - cash_refunds + pay_ins -
    pay_outs`. Under the store's `blind_close` a cashier gets no expected figure of an open
    shift (`cash_sales`, `cash_refunds`, `expected_cash` and `totals_by_method` are null)."""

    shift = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Shift.Status.choices)
    opening_cash = MoneyField()
    sales_count = serializers.IntegerField(allow_null=True)
    cash_sales = MoneyField(allow_null=True)
    cash_refunds = MoneyField(allow_null=True)
    # null for shifts closed before these figures were kept
    pay_ins = MoneyField(allow_null=True)
    pay_outs = MoneyField(allow_null=True)
    cash_rounding = MoneyField(
        allow_null=True, help_text="The cash step's adjustments, in `cash_sales`."
    )
    expected_cash = MoneyField(allow_null=True)
    counted_cash = MoneyField(allow_null=True)
    difference = MoneyField(allow_null=True)
    totals_by_method = MethodAmountSerializer(many=True, allow_null=True)
    late_sales_count = serializers.IntegerField(allow_null=True)
    late_sales_total = MoneyField(allow_null=True)


# --- Sales ----------------------------------------------------------------------------------


class CheckoutLineSerializer(LeanSerializer):
    """A line to ring up: the product, the quantity and an amount off the line."""

    product = IdField()
    quantity = PlainDecimalField(**QUANTITY, min_value=Decimal("0.001"))
    discount = MoneyField(min_value=Decimal("0"), default=Decimal("0"))
    unit_price = MoneyField(
        min_value=Decimal("0"),
        required=False,
        help_text="Overrides the product's price: owners and managers only.",
    )


class PaymentSerializer(LeanSerializer):
    """A payment: its method and amount; only cash may exceed the total, the rest is change."""

    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    amount = MoneyField(min_value=Decimal("0.01"))


class CheckoutSerializer(LeanSerializer):
    """A sale to ring up on a register with an open shift, optionally for a customer."""

    register = IdField()
    client_id = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The till's own id of the sale (a UUID): a sale is made once per client_id, "
        "online or synced offline; sent again, the first sale is answered.",
    )
    customer = IdField(required=False, allow_null=True, default=None)
    lines = CheckoutLineSerializer(many=True, allow_empty=False, max_length=500)
    payments = PaymentSerializer(many=True, max_length=20)
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class CashierSerializer(LeanSerializer):
    """Who rang the sale up (null if their account is gone)."""

    id = serializers.IntegerField()
    email = serializers.EmailField()


# The sale's answer is built on every checkout: plain serializers, not model introspection.


class SaleLineSerializer(LeanSerializer):
    """A line of a sale, priced and taxed as it was sold."""

    id = serializers.IntegerField(read_only=True)
    product = serializers.IntegerField(source="product_id", read_only=True)
    name = serializers.CharField(read_only=True)
    sku = serializers.CharField(read_only=True)
    quantity = PlainDecimalField(**QUANTITY, read_only=True)
    unit_price = MoneyField(read_only=True)
    discount = MoneyField(read_only=True)
    tax_rate = PlainDecimalField(max_digits=5, decimal_places=2, read_only=True)
    tax_amount = MoneyField(read_only=True)
    total = MoneyField(read_only=True)
    refunded_quantity = PlainDecimalField(**QUANTITY, read_only=True)


class SalePaymentSerializer(LeanSerializer):
    """A payment of the sale."""

    method = serializers.ChoiceField(choices=PaymentMethod.choices, read_only=True)
    amount = MoneyField(read_only=True)


class SaleSerializer(LeanSerializer):
    """A completed sale, its lines and payments; `number` runs 1, 2, 3… within the store."""

    id = serializers.IntegerField(read_only=True)
    number = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(choices=Sale.Status.choices, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    register = serializers.IntegerField(source="register_id", read_only=True)
    shift = serializers.IntegerField(source="shift_id", read_only=True)
    cashier = CashierSerializer(read_only=True, allow_null=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True, allow_null=True)
    lines = SaleLineSerializer(many=True, read_only=True)
    subtotal = MoneyField(read_only=True)
    discount_total = MoneyField(read_only=True)
    tax_total = MoneyField(read_only=True)
    total = MoneyField(read_only=True)
    payments = SalePaymentSerializer(many=True, read_only=True)
    paid_total = MoneyField(read_only=True)
    change_due = MoneyField(read_only=True)
    cash_rounding = MoneyField(
        read_only=True,
        help_text="The signed adjustment of the cash due to the store's cash step (0 without).",
    )
    refunded_total = MoneyField(read_only=True)
    prices_include_tax = serializers.BooleanField(read_only=True)
    note = serializers.CharField(read_only=True)
    client_id = serializers.UUIDField(read_only=True, allow_null=True)
    occurred_at = serializers.DateTimeField(
        source="created_at",
        read_only=True,
        help_text="When the sale was made: the server's clock online, the till's offline.",
    )
    offline_number = serializers.CharField(read_only=True)
    source = serializers.ChoiceField(choices=Sale.Source.choices, read_only=True)
    late = serializers.BooleanField(
        read_only=True,
        help_text="An offline sale that reached a later shift than the one it was made in.",
    )


# --- Offline sales --------------------------------------------------------------------------


class SyncSaleSerializer(LeanSerializer):
    """A sale the till made offline, as it sends it."""

    client_id = serializers.UUIDField(help_text="The till's id of the sale, made by the till.")
    occurred_at = serializers.DateTimeField(help_text="When the till made the sale, its clock.")
    offline_number = serializers.CharField(
        max_length=64,
        required=False,
        default="",
        allow_blank=True,
        help_text="What the printed receipt shows.",
    )
    customer = IdField(required=False, allow_null=True, default=None)
    lines = CheckoutLineSerializer(many=True, allow_empty=False, max_length=500)
    payments = PaymentSerializer(many=True, max_length=20)
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class SyncSerializer(serializers.Serializer):
    """A batch of offline sales of one register: each sale is checked on its own (by
    SyncSaleSerializer), so that an invalid one is `rejected` and the others applied."""

    register = IdField()
    sales = serializers.ListField(child=serializers.JSONField(), max_length=500)


class SyncRequestSerializer(LeanSerializer):
    """A batch of offline sales of one register, applied in `occurred_at` order."""

    register = IdField()
    sales = SyncSaleSerializer(
        many=True,
        max_length=500,
        help_text="Up to 500 sales, each checked on its own: an invalid one is `rejected`, "
        "the others applied.",
    )


class SyncConflictSerializer(LeanSerializer):
    """Stock that was no longer there: what the sale took, and what was left."""

    product = serializers.IntegerField()
    requested = PlainDecimalField(**QUANTITY)
    available = PlainDecimalField(**QUANTITY)


class SyncResultSerializer(LeanSerializer):
    """What became of one sale of the batch."""

    client_id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=SYNC_STATUSES)
    sale = serializers.IntegerField(
        allow_null=True, help_text="The sale (the first, if a duplicate)."
    )
    number = serializers.IntegerField(allow_null=True)
    conflicts = SyncConflictSerializer(many=True)
    error = serializers.DictField(
        allow_null=True, help_text="Why it was rejected: `detail`, `code`, and `fields` or more."
    )


class SyncResponseSerializer(LeanSerializer):
    """One result per sale, in the order sent."""

    results = SyncResultSerializer(many=True)


class SaleConflictSerializer(ModelSerializer):
    """An offline sale's conflict: stock it took that was no longer there."""

    class Meta:
        model = SaleConflict
        fields = ("id", "sale", "product", "requested", "available", "created_at")
        read_only_fields = fields


# --- Refunds --------------------------------------------------------------------------------


class RefundLineInputSerializer(serializers.Serializer):
    """A line of the sale and the quantity of it to refund."""

    line = IdField()
    quantity = PlainDecimalField(**QUANTITY, min_value=Decimal("0.001"))


class RefundInputSerializer(serializers.Serializer):
    """What to refund: lines and quantities, how the money goes back, and whether to restock."""

    lines = RefundLineInputSerializer(many=True, allow_empty=False, max_length=500)
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    restock = serializers.BooleanField(default=False)
    reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class RefundLineSerializer(ModelSerializer):
    """A refunded line: the quantity and the money given back for it, tax included."""

    class Meta:
        model = RefundLine
        fields = ("line", "quantity", "total", "tax_amount")
        read_only_fields = fields


class RefundSerializer(ModelSerializer):
    """A refund of some of a sale's lines."""

    lines = RefundLineSerializer(many=True, read_only=True)

    class Meta:
        model = Refund
        fields = (
            "id",
            "sale",
            "shift",
            "lines",
            "total",
            "cash_rounding",
            "method",
            "restock",
            "reason",
            "created_by",
            "created_at",
        )
        read_only_fields = fields


# --- Receipts -------------------------------------------------------------------------------


class ReceiptQuerySerializer(serializers.Serializer):
    """How a receipt is wanted: as text for a thermal printer of some width, HTML or PDF."""

    format = serializers.ChoiceField(choices=receipts.FORMATS, default="text")
    width = serializers.ChoiceField(
        choices=receipts.WIDTHS,
        default=receipts.DEFAULT_WIDTH,
        help_text="Columns of the text: 32 for 58 mm paper, 42 or 48 for 80 mm. A PDF is on "
        "58 mm paper for 32, else 80 mm.",
    )


class ReceiptEmailSerializer(serializers.Serializer):
    """Where to mail a sale's receipt, or the receipt of one of its refunds."""

    email = serializers.EmailField(max_length=254)
    refund = IdField(required=False, help_text="A refund of this sale: its receipt instead.")


class ReceiptEmailQueuedSerializer(serializers.Serializer):
    """The receipt queued for mail: the sale's, or the refund's when one was named."""

    sale = serializers.IntegerField()
    refund = serializers.IntegerField(allow_null=True)
    email = serializers.EmailField()
