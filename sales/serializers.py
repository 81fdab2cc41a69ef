"""Input and output shapes of the sales API."""

from decimal import Decimal

from rest_framework import serializers

from core.fields import PlainDecimalField
from core.serializers import LeanSerializer
from sales.models import (
    PaymentMethod,
    Refund,
    RefundLine,
    Register,
    Sale,
    Shift,
)

MONEY = {"max_digits": 12, "decimal_places": 2}
QUANTITY = {"max_digits": 12, "decimal_places": 3}


class RegisterSerializer(serializers.ModelSerializer):
    class Meta:
        model = Register
        fields = ("id", "name", "is_active")


# --- Shifts ---------------------------------------------------------------------------------


class ShiftOpenSerializer(serializers.Serializer):
    register = serializers.IntegerField(min_value=1)
    opening_cash = PlainDecimalField(**MONEY, min_value=Decimal("0"))


class ShiftCloseSerializer(serializers.Serializer):
    counted_cash = PlainDecimalField(**MONEY, min_value=Decimal("0"))


class MethodAmountSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    amount = PlainDecimalField(**MONEY)


class ShiftSerializer(serializers.ModelSerializer):
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
        )
        read_only_fields = fields


# --- Sales ----------------------------------------------------------------------------------


class CheckoutLineSerializer(LeanSerializer):
    product = serializers.IntegerField(min_value=1)
    quantity = PlainDecimalField(**QUANTITY, min_value=Decimal("0.001"))
    discount = PlainDecimalField(**MONEY, min_value=Decimal("0"), default=Decimal("0.00"))
    unit_price = PlainDecimalField(
        **MONEY,
        min_value=Decimal("0"),
        required=False,
        help_text="Overrides the product's price: owners and managers only.",
    )


class PaymentSerializer(LeanSerializer):
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    amount = PlainDecimalField(**MONEY, min_value=Decimal("0.01"))


class CheckoutSerializer(LeanSerializer):
    register = serializers.IntegerField(min_value=1)
    customer = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    lines = CheckoutLineSerializer(many=True, allow_empty=False, max_length=500)
    payments = PaymentSerializer(many=True, max_length=20)
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class CashierSerializer(LeanSerializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()


# The sale's answer is built on every checkout: plain serializers, not model introspection.


class SaleLineSerializer(LeanSerializer):
    id = serializers.IntegerField(read_only=True)
    product = serializers.IntegerField(source="product_id", read_only=True)
    name = serializers.CharField(read_only=True)
    sku = serializers.CharField(read_only=True)
    quantity = PlainDecimalField(**QUANTITY, read_only=True)
    unit_price = PlainDecimalField(**MONEY, read_only=True)
    discount = PlainDecimalField(**MONEY, read_only=True)
    tax_rate = PlainDecimalField(max_digits=5, decimal_places=2, read_only=True)
    tax_amount = PlainDecimalField(**MONEY, read_only=True)
    total = PlainDecimalField(**MONEY, read_only=True)
    refunded_quantity = PlainDecimalField(**QUANTITY, read_only=True)


class SalePaymentSerializer(LeanSerializer):
    method = serializers.ChoiceField(choices=PaymentMethod.choices, read_only=True)
    amount = PlainDecimalField(**MONEY, read_only=True)


class SaleSerializer(LeanSerializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(choices=Sale.Status.choices, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    register = serializers.IntegerField(source="register_id", read_only=True)
    shift = serializers.IntegerField(source="shift_id", read_only=True)
    cashier = CashierSerializer(read_only=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True, allow_null=True)
    lines = SaleLineSerializer(many=True, read_only=True)
    subtotal = PlainDecimalField(**MONEY, read_only=True)
    discount_total = PlainDecimalField(**MONEY, read_only=True)
    tax_total = PlainDecimalField(**MONEY, read_only=True)
    total = PlainDecimalField(**MONEY, read_only=True)
    payments = SalePaymentSerializer(many=True, read_only=True)
    paid_total = PlainDecimalField(**MONEY, read_only=True)
    change_due = PlainDecimalField(**MONEY, read_only=True)
    refunded_total = PlainDecimalField(**MONEY, read_only=True)
    prices_include_tax = serializers.BooleanField(read_only=True)
    note = serializers.CharField(read_only=True)


# --- Refunds --------------------------------------------------------------------------------


class RefundLineInputSerializer(serializers.Serializer):
    line = serializers.IntegerField(min_value=1)
    quantity = PlainDecimalField(**QUANTITY, min_value=Decimal("0.001"))


class RefundInputSerializer(serializers.Serializer):
    lines = RefundLineInputSerializer(many=True, allow_empty=False, max_length=500)
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    restock = serializers.BooleanField(default=False)
    reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class RefundLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = RefundLine
        fields = ("line", "quantity", "total", "tax_amount")
        read_only_fields = fields


class RefundSerializer(serializers.ModelSerializer):
    lines = RefundLineSerializer(many=True, read_only=True)

    class Meta:
        model = Refund
        fields = (
            "id",
            "sale",
            "shift",
            "lines",
            "total",
            "method",
            "restock",
            "reason",
            "created_by",
            "created_at",
        )
        read_only_fields = fields
