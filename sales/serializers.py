"""Input and output shapes of the sales API."""

from decimal import Decimal

from rest_framework import serializers

from sales.models import (
    PaymentMethod,
    Refund,
    RefundLine,
    Register,
    Sale,
    SaleLine,
    SalePayment,
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
    opening_cash = serializers.DecimalField(**MONEY, min_value=Decimal("0"))


class ShiftCloseSerializer(serializers.Serializer):
    counted_cash = serializers.DecimalField(**MONEY, min_value=Decimal("0"))


class MethodAmountSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    amount = serializers.DecimalField(**MONEY)


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


class CheckoutLineSerializer(serializers.Serializer):
    product = serializers.IntegerField(min_value=1)
    quantity = serializers.DecimalField(**QUANTITY, min_value=Decimal("0.001"))
    discount = serializers.DecimalField(**MONEY, min_value=Decimal("0"), default=Decimal("0.00"))
    unit_price = serializers.DecimalField(
        **MONEY,
        min_value=Decimal("0"),
        required=False,
        help_text="Overrides the product's price: owners and managers only.",
    )


class PaymentSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    amount = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"))


class CheckoutSerializer(serializers.Serializer):
    register = serializers.IntegerField(min_value=1)
    customer = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    lines = CheckoutLineSerializer(many=True, allow_empty=False, max_length=500)
    payments = PaymentSerializer(many=True, max_length=20)
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class CashierSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()


class SaleLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = SaleLine
        fields = (
            "id",
            "product",
            "name",
            "sku",
            "quantity",
            "unit_price",
            "discount",
            "tax_rate",
            "tax_amount",
            "total",
            "refunded_quantity",
        )
        read_only_fields = fields


class SalePaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = SalePayment
        fields = ("method", "amount")
        read_only_fields = fields


class SaleSerializer(serializers.ModelSerializer):
    cashier = CashierSerializer(read_only=True)
    lines = SaleLineSerializer(many=True, read_only=True)
    payments = SalePaymentSerializer(many=True, read_only=True)

    class Meta:
        model = Sale
        fields = (
            "id",
            "number",
            "status",
            "created_at",
            "register",
            "shift",
            "cashier",
            "customer",
            "lines",
            "subtotal",
            "discount_total",
            "tax_total",
            "total",
            "payments",
            "paid_total",
            "change_due",
            "refunded_total",
            "prices_include_tax",
            "note",
        )
        read_only_fields = fields


# --- Refunds --------------------------------------------------------------------------------


class RefundLineInputSerializer(serializers.Serializer):
    line = serializers.IntegerField(min_value=1)
    quantity = serializers.DecimalField(**QUANTITY, min_value=Decimal("0.001"))


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
