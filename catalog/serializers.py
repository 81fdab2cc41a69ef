"""Input and output shapes of the catalog API."""

from decimal import Decimal

from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from catalog.models import Category, Product, StockMovement
from core.fields import MoneyField, PlainDecimalField
from core.serializers import ModelSerializer


class CategorySerializer(ModelSerializer):
    """A category of the catalog: `parent` is another category's id, or null for a top one."""

    class Meta:
        model = Category
        fields = ("id", "name", "parent")


class ProductSerializer(ModelSerializer):
    """A product of the store's catalog. `stock` is read-only: it changes through adjust-stock,
    sales and refunds."""

    sku = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        allow_blank=True,
        validators=[
            UniqueValidator(Product.objects.all(), message="Product with this Sku already exists.")
        ],
    )
    barcode = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        allow_blank=True,
        validators=[
            UniqueValidator(
                Product.objects.all(), message="Product with this Barcode already exists."
            )
        ],
    )
    price = MoneyField(min_value=Decimal("0"))
    cost = MoneyField(min_value=Decimal("0"), required=False)
    tax_rate = PlainDecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        required=False,
        help_text='A percentage: "20.00" is 20 %.',
    )

    class Meta:
        model = Product
        fields = (
            "id",
            "name",
            "sku",
            "barcode",
            "category",
            "price",
            "cost",
            "tax_rate",
            "stock",
            "is_active",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("stock", "created_at", "updated_at")

    def validate_sku(self, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    def validate_barcode(self, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None


class StockAdjustmentSerializer(serializers.Serializer):
    """A change of a product's stock made by hand: a signed quantity and its reason."""

    delta = PlainDecimalField(
        max_digits=12, decimal_places=3, help_text='Signed quantity, e.g. "-2" or "0.250".'
    )
    reason = serializers.ChoiceField(choices=StockMovement.MANUAL_REASONS)
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)

    def validate_delta(self, value: Decimal) -> Decimal:
        if value == 0:
            raise serializers.ValidationError("A stock change cannot be zero.")
        return value


class StockMovementSerializer(ModelSerializer):
    """`sale` or `refund` names what made the change; both are null for changes made by hand."""

    class Meta:
        model = StockMovement
        fields = (
            "id",
            "product",
            "delta",
            "reason",
            "note",
            "sale",
            "refund",
            "created_by",
            "created_at",
        )
        read_only_fields = fields


class StockAdjustmentResultSerializer(StockMovementSerializer):
    """The movement just written, with the product's stock after it."""

    stock = PlainDecimalField(
        source="product.stock", max_digits=12, decimal_places=3, read_only=True
    )

    class Meta(StockMovementSerializer.Meta):
        fields = (*StockMovementSerializer.Meta.fields, "stock")
        read_only_fields = fields
